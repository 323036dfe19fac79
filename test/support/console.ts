import type { RunningApi } from './api.js';

/** Signs in to the console as a browser does (the sign-in form's secret, then a token); returns the session cookie. */
export async function consoleSession(api: RunningApi, token: string): Promise<string> {
  const form = await fetch(`${api.url}/console/sign-in`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  const formCookie = form.headers.get('set-cookie')?.split(';')[0];
  if (!csrf || !formCookie) throw new Error(`the console's sign-in form has no secret (${form.status})`);
  const signIn = await fetch(`${api.url}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, token, next: '/console' }).toString(),
  });
  const cookie = signIn.headers.get('set-cookie')?.split(';')[0];
  if (signIn.status !== 303 || !cookie?.startsWith('correx_session=')) throw new Error(`console sign-in answered ${signIn.status}`);
  return cookie;
}

/**
 * What a person would call broken layout, measured in the page: anything wider than the viewport,
 * text cut off by its box, two pieces of text drawn over each other, or text too faint to read.
 */
export const layoutProblems = `(() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width + 1) problems.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  const texts = [];
  for (const el of document.querySelectorAll('main *, header *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    if (el.closest('.skip') || el.closest('thead[style]')) continue;
    if (rect.right > width + 1 || rect.left < -1) {
      if (!(el.closest('table.stack thead'))) problems.push('outside the viewport: ' + describe(el) + ' [' + Math.round(rect.left) + ', ' + Math.round(rect.right) + ']');
    }
    const clips = ['hidden', 'clip'].includes(style.overflowX) || ['hidden', 'clip'].includes(style.overflowY);
    if (clips && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) problems.push('cut off: ' + describe(el));
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    // Inline text that wraps has one box per line: compare those, not the box around all of them.
    if (ownText || ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(el.tagName)) for (const box of el.getClientRects()) texts.push({ el, box });
  }
  // WCAG 2.1 contrast of each piece of text against the background it is drawn on.
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const backgroundOf = (el) => { for (let n = el; n; n = n.parentElement) { const c = rgb(getComputedStyle(n).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); } return [255, 255, 255]; };
  for (const { el } of texts) {
    if (['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)) continue;
    const style = getComputedStyle(el);
    const [l1, l2] = [luminance(rgb(style.color).slice(0, 3)), luminance(backgroundOf(el))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    if (!(ratio >= (large ? 3 : 4.5))) problems.push('contrast ' + ratio.toFixed(2) + ': ' + describe(el));
  }
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i], b = texts[j];
      if (a.el === b.el || a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const h = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      if (w > 2 && h > 2) problems.push('overlap: ' + describe(a.el) + ' and ' + describe(b.el));
    }
  }
  return problems;
})()`;

/**
 * On a phone a stacked table shows each cell as its label, then its value: every line of every value
 * must start right of the label column (7.5em and the gap), never under the label. Returns the lines
 * that do not, and how many values took more than one line (so a pass is not vacuous).
 */
export const valuesOutOfColumn = `(() => {
  const outside = [];
  let multiLine = 0;
  for (const td of document.querySelectorAll('table.stack td[data-label]')) {
    const style = getComputedStyle(td);
    if (style.display === 'none') continue;
    const cell = td.getBoundingClientRect();
    const labelEnd = cell.left + 7.5 * parseFloat(style.fontSize);
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    const tops = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const line of range.getClientRects()) {
        if (line.width === 0) continue;
        tops.add(Math.round(line.top));
        if (line.left < labelEnd) outside.push(td.dataset.label + ': "' + node.textContent.trim().slice(0, 40) + '" starts at ' + Math.round(line.left - cell.left) + 'px, inside the label column (' + Math.round(labelEnd - cell.left) + 'px)');
      }
    }
    if (tops.size > 1) multiLine++;
  }
  return { outside, multiLine };
})()`;
