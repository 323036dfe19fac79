/** Text for HTML content and attribute values. */
export const escapeHtml = (text: unknown): string =>
  String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * An instant to the second, with its zone named: `2026-11-23 04:48:20 UTC`, or `-` when there is none.
 * For records (the printable report, the exact time behind a console moment); the console's pages say
 * moments as `momentInWords` does (`23 November 2026, 04:48 UTC`).
 */
export const formatInstant = (d: Date | string | null | undefined): string => {
  if (!d) return '-';
  const at = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(at.getTime())) return String(d);
  return `${at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} UTC`;
};
