// Workflow ids, zod-free and node-free so workflows can import them.

/** What a workflow id may contain: nothing a shell would interpret, so operators can paste it unquoted. */
export const safeWorkflowIdPattern = /^[A-Za-z0-9._:/-]+$/;

/** The longest readable part kept of a dedup key that has to be encoded (the hash keeps it unique). */
const READABLE_LIMIT = 100;

/**
 * One workflow per open incident of a system and dedup key, so repeats find it. A dedup key made only
 * of `[A-Za-z0-9._:/-]` is used as is; any other is written readably (each run of other characters
 * becomes `-`, at most 100 characters) followed by `.h` and 16 hex digits of the SHA-256 of the whole
 * key, so the id stays deterministic, unique and free of shell-special characters. For example the
 * monitor's `monitor:rate|service=api:1` becomes `monitor:rate-service-api:1.h…`.
 */
export function incidentWorkflowId(systemId: string, dedupKey: string): string {
  return `incident:${safeIdPart(systemId)}:${safeIdPart(dedupKey)}`;
}

/**
 * The id incidents were started under before ids were made shell-safe (the dedup key verbatim). Incidents
 * opened then keep it for life: read the id recorded with the incident (`incidents.workflow_id`, the
 * monitor's open incidents) rather than deriving it again.
 */
export function legacyIncidentWorkflowId(systemId: string, dedupKey: string): string {
  return `incident:${systemId}:${dedupKey}`;
}

/** A part of a workflow id: itself when safe, else its readable form and a hash of it. */
export function safeIdPart(text: string): string {
  if (safeWorkflowIdPattern.test(text)) return text;
  const readable = text.replace(/[^A-Za-z0-9._:/-]+/g, '-').slice(0, READABLE_LIMIT);
  return `${readable}.h${sha256Hex(text).slice(0, 16)}`;
}

/** Where the Temporal web UI shows a workflow: `<ui>/namespaces/<namespace>/workflows/<workflowId>`, each part URL-encoded. */
export function temporalUiWorkflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** One monitor per system. */
export function monitorWorkflowId(systemId: string): string {
  return `monitor:${systemId}`;
}

/** A correction runs as a child of its incident. */
export function correctionWorkflowId(incidentWorkflowId: string, correctionId: string): string {
  return `${incidentWorkflowId}/correction/${correctionId}`;
}

/** One regulator clock per regime that applies to an incident. */
export function regulatoryClockWorkflowId(incidentWorkflowId: string, regimeId: string, incidentId: string): string {
  return `${incidentWorkflowId}/regime/${regimeId}/${incidentId}`;
}

/** The after-action review of an incident, started at its first resolution. */
export function reviewWorkflowId(incidentWorkflowId: string, incidentId: string): string {
  return `${incidentWorkflowId}/review/${incidentId}`;
}

// SHA-256 (FIPS 180-4) of a string's UTF-8 bytes, in plain JavaScript: workflow code has no node:crypto.
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

function utf8(text: string): number[] {
  const bytes: number[] = [];
  for (const char of text) {
    let c = char.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate, as TextEncoder writes it
    if (c < 0x80) bytes.push(c);
    else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return bytes;
}

export function sha256Hex(text: string): string {
  const bytes = utf8(text);
  const bitLength = bytes.length * 8;
  bytes.push(0x80);
  while (bytes.length % 64 !== 56) bytes.push(0);
  for (let i = 7; i >= 0; i--) bytes.push(i >= 4 ? Math.floor(bitLength / 2 ** (i * 8)) & 0xff : (bitLength >>> (i * 8)) & 0xff);
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const w = new Array<number>(64);
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  for (let offset = 0; offset < bytes.length; offset += 64) {
    for (let i = 0; i < 16; i++) {
      const j = offset + i * 4;
      w[i] = ((bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!) >>> 0;
    }
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15]!, 7) ^ rotr(w[i - 15]!, 18) ^ (w[i - 15]! >>> 3);
      const s1 = rotr(w[i - 2]!, 17) ^ rotr(w[i - 2]!, 19) ^ (w[i - 2]! >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0]! + a) >>> 0;
    h[1] = (h[1]! + b) >>> 0;
    h[2] = (h[2]! + c) >>> 0;
    h[3] = (h[3]! + d) >>> 0;
    h[4] = (h[4]! + e) >>> 0;
    h[5] = (h[5]! + f) >>> 0;
    h[6] = (h[6]! + g) >>> 0;
    h[7] = (h[7]! + hh) >>> 0;
  }
  return h.map((x) => x.toString(16).padStart(8, '0')).join('');
}
