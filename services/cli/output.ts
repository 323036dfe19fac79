/** What commands print: small aligned tables and times for people, the API's JSON for scripts. */

export type Cell = string | number | boolean | null | undefined;

function text(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  if (typeof cell === 'boolean') return cell ? 'yes' : 'no';
  return String(cell).replace(/\s*\n\s*/g, ' ');
}

/** Shortens text to `max` characters, ending with an ellipsis when cut. */
export function truncate(value: string | null | undefined, max: number): string {
  if (!value) return '';
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** Left-aligned columns two spaces apart, with an upper-case header row; the last column is not padded. */
export function table(headers: string[], rows: Cell[][]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => headers.map((_, i) => text(row[i])))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => [...row[i]!].length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `label  value` lines with the labels aligned, skipping empty values. */
export function fields(entries: [string, Cell][]): string {
  const shown = entries.filter(([, value]) => value !== undefined && value !== null && value !== '');
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `  ${label.padEnd(width)}  ${text(value)}`).join('\n');
}

/** A duration as one or two units: `45s`, `12m`, `3h 5m`, `2d 4h`. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** How long ago an ISO time was (`5m`), for lists. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  return span(now - Date.parse(iso));
}

/** `in 3h` or `2h ago`, for deadlines. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const delta = Date.parse(iso) - now;
  return delta >= 0 ? `in ${span(delta)}` : `${span(-delta)} ago`;
}

/** An ISO time as printed in details: to the second, UTC. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '-';
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Characters a terminal acts on rather than shows: C0 and C1 controls (ESC starts escape sequences that
 * can move the cursor, retitle the window or rewrite lines; BEL rings) and the bidirectional overrides
 * and isolates that make text read in another order than it is stored. Titles, labels and reasons come
 * from anyone who can send an alert, so none of them reaches the operator's terminal raw.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are what gets escaped
const terminalControls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text with every terminal control shown as a visible escape (`\x1b`, `\u202e`); newlines and tabs are kept. */
export function terminalSafe(text: string): string {
  return text.replace(terminalControls, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** JSON for scripts: still valid JSON, with terminal controls inside strings escaped as `\uXXXX`. */
export function printJson(value: unknown): void {
  const json = JSON.stringify(value, null, 2).replace(terminalControls, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
  process.stdout.write(`${json}\n`);
}

export function print(line = ''): void {
  process.stdout.write(`${terminalSafe(line)}\n`);
}
