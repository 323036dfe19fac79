/**
 * Canonical JSON (the subset of RFC 8785 / JCS that timeline data uses): object keys sorted by
 * UTF-16 code units, no whitespace, members whose value is `undefined` omitted, numbers in
 * ECMAScript's shortest round-trip form, strings escaped as JSON.stringify does. The same value
 * always gives the same bytes, so a verifier in any language can recompute the hash.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot encode ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    // No JSON form. TypeScript cannot prove a `typeof` switch over `unknown` exhaustive, so this is the default too.
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
    default:
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
  }
}
