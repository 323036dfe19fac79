import { afterEach, describe, expect, it, vi } from 'vitest';
import { print, printJson, table } from '../../services/cli/output.js';

/** A title as an attacker would send it in an alert: retitle the terminal, ring, reorder the text. */
/** Any character a terminal would act on; the output may hold none. */
// eslint-disable-next-line no-control-regex -- the controls are what the test looks for
const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const hostile = 'ok\u001b]0;pwned\u0007 \u001b[2Jcleared \u202etxt.exe\u009b \r overwritten';

describe('CLI output never hands a terminal the controls in a title', () => {
  const written: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    written.length = 0;
  });
  const capture = () => vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (written.push(String(chunk)), true));

  it('escapes C0 and C1 controls, carriage returns and bidi overrides in tables, keeping the text readable', () => {
    capture();
    print(table(['id', 'title'], [['i-1', hostile]]));
    const out = written.join('');
    expect(out).not.toMatch(raw);
    expect(out).toContain('ok\\x1b]0;pwned\\x07 \\x1b[2Jcleared \\u202etxt.exe\\x9b \\x0d overwritten');
    expect(out.endsWith('\n')).toBe(true);
  });

  it('keeps --json output valid JSON that parses back to the exact title', () => {
    capture();
    printJson({ title: hostile, note: 'emoji 🚨 and accents é stay as they are' });
    const out = written.join('');
    expect(out).not.toMatch(raw);
    expect(JSON.parse(out)).toEqual({ title: hostile, note: 'emoji 🚨 and accents é stay as they are' });
  });
});
