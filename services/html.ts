/** Text for HTML content and attribute values. */
export const escapeHtml = (text: unknown): string =>
  String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** An instant as people read it in a report: `2026-11-23 04:48:20Z`, or `-` when there is none. */
export const formatInstant = (d: Date | string | null | undefined): string =>
  d ? (typeof d === 'string' ? d : d.toISOString()).replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
