import { expect } from 'vitest';
import { chromium, type Browser, type Locator } from 'playwright-core';

/** Debian's Chromium, headless, with the flags this machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/**
 * Waits until the element's text contains `expected` (or matches it, or equals it when `exact`), the
 * way a person watching the page would; fails with the last text seen.
 */
export async function expectText(locator: Locator, expected: string | RegExp, options: { exact?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last = '';
  for (;;) {
    last =
      (await locator.count()) > 0
        ? await locator
            .first()
            .innerText()
            .catch(() => '')
        : '(no such element)';
    const ok = typeof expected === 'string' ? (options.exact ? last.trim() === expected : last.includes(expected)) : expected.test(last);
    if (ok) return;
    if (Date.now() > deadline) {
      expect(last, `text of ${locator}`).toBe(typeof expected === 'string' ? expected : String(expected));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until the locator matches exactly `count` elements. */
export async function expectCount(locator: Locator, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await locator.count()) !== count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await locator.count(), `count of ${locator}`).toBe(count);
}
