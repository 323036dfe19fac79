import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import { GENESIS_HASH, timelineEventHash } from '../timeline/chain.js';
import { EXPORT_FORMAT, type ExportManifest } from './schema.js';
import { keyIdOf, manifestSignatureValid } from './signing.js';

export interface BrokenEvent {
  incidentId: string;
  /** The sequence number the event at that place must have. */
  seq: number;
  line: number;
  reason: string;
}

export interface Verification {
  ok: boolean;
  incidents: number;
  events: number;
  keyId: string | undefined;
  /** Whether the signature was checked against a key the verifier trusts, or only the one in the file. */
  keyPinned: boolean;
  /** The first event that does not verify, if any. */
  broken: BrokenEvent | undefined;
  /** Problems outside the events (manifest, signature, layout). */
  problems: string[];
}

interface EventLine {
  seq: number;
  kind: string;
  actor: string;
  occurredAt: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

function parseLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isEventLine(v: unknown): v is EventLine {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.seq === 'number' &&
    typeof e.kind === 'string' &&
    typeof e.actor === 'string' &&
    typeof e.occurredAt === 'string' &&
    typeof e.data === 'object' &&
    e.data !== null &&
    !Array.isArray(e.data) &&
    typeof e.prevHash === 'string' &&
    typeof e.hash === 'string'
  );
}

/**
 * Checks a JSON export line by line, offline: every event's hash over its canonical JSON, every link
 * to the previous event, the sequence numbers, each incident's summary and head against the manifest,
 * and the manifest's Ed25519 signature. Names the first event that fails by the sequence number it
 * must have (its place in the chain), so a damaged or missing event is named even when unreadable.
 */
export async function verifyExport(lines: AsyncIterable<string>, options: { publicKeyPem?: string } = {}): Promise<Verification> {
  const problems: string[] = [];
  let broken: BrokenEvent | undefined;
  const seen: { incidentId: string; summaryHash: string; alertsHash: string | undefined; events: number; lastSeq: number; headHash: string }[] = [];
  let current: (typeof seen)[number] | undefined;
  let section: 'start' | 'incidents' | 'events' | 'end' = 'start';
  let trailer: { manifest?: ExportManifest; signature?: string } | undefined;
  let lineNo = 0;
  let totalEvents = 0;

  const breakAt = (reason: string) => {
    if (!broken && current) broken = { incidentId: current.incidentId, seq: current.lastSeq + 1, line: lineNo, reason };
  };

  for await (const raw of lines) {
    lineNo += 1;
    const line = raw.replace(/\r$/, '');
    if (section === 'start') {
      const header = line.endsWith(',"incidents":[') ? parseLine(`${line.slice(0, -',"incidents":['.length)}}`) : undefined;
      if (!header || (header as { format?: string }).format !== EXPORT_FORMAT) {
        problems.push(`line 1 is not the header of a ${EXPORT_FORMAT} export`);
        break;
      }
      section = 'incidents';
      continue;
    }
    if (section === 'incidents') {
      if (line.startsWith('],"manifest":')) {
        trailer = parseLine(`{${line.slice(2)}`) as typeof trailer;
        if (!trailer) problems.push(`line ${lineNo}: the manifest line is not valid JSON`);
        section = 'end';
        continue;
      }
      const head =
        line.startsWith('{"incident":') && line.endsWith(',"events":[')
          ? (parseLine(`${line.slice(0, -',"events":['.length)}}`) as { incident?: { id?: string }; alerts?: unknown } | undefined)
          : undefined;
      if (!head?.incident?.id) {
        problems.push(`line ${lineNo}: expected an incident or the manifest`);
        break;
      }
      const summary = canonicalJson(head.incident);
      current = {
        incidentId: head.incident.id,
        summaryHash: createHash('sha256').update(summary).digest('hex'),
        alertsHash: head.alerts === undefined ? undefined : createHash('sha256').update(canonicalJson(head.alerts)).digest('hex'),
        events: 0,
        lastSeq: 0,
        headHash: GENESIS_HASH,
      };
      seen.push(current);
      section = 'events';
      continue;
    }
    if (section === 'events') {
      if (line === ']}' || line === ']},') {
        section = 'incidents';
        continue;
      }
      const event = parseLine(line.endsWith(',') ? line.slice(0, -1) : line);
      if (!current) break;
      if (!isEventLine(event)) {
        breakAt('the line is not a readable timeline event');
      } else {
        const expectedSeq = current.lastSeq + 1;
        if (event.seq !== expectedSeq) breakAt(`its sequence number reads ${event.seq}`);
        else if (event.prevHash !== current.headHash) breakAt('it does not link to the previous event (prevHash differs)');
        else {
          const recomputed = timelineEventHash({
            incidentId: current.incidentId,
            seq: event.seq,
            kind: event.kind,
            actor: event.actor,
            occurredAt: event.occurredAt,
            data: event.data,
            prevHash: event.prevHash,
          });
          if (recomputed !== event.hash) breakAt('its content does not match its hash');
        }
      }
      // Carry on from where the chain must be, so one bad event is named, not everything after it.
      current.lastSeq += 1;
      current.events += 1;
      current.headHash = isEventLine(event) ? event.hash : current.headHash;
      totalEvents += 1;
      continue;
    }
    if (line.trim() !== '') problems.push(`line ${lineNo}: unexpected content after the manifest`);
  }

  let keyPinned = false;
  const manifest = trailer?.manifest;
  if (section !== 'end' && problems.length === 0) problems.push('the export ends before its manifest (truncated?)');
  if (manifest) {
    const listed = manifest.incidents ?? [];
    if (listed.length !== seen.length) problems.push(`the manifest lists ${listed.length} incidents, the file holds ${seen.length}`);
    for (const [i, incident] of seen.entries()) {
      const entry = listed[i];
      if (!entry || entry.incidentId !== incident.incidentId) problems.push(`incident ${incident.incidentId} is not where the manifest lists it`);
      else {
        if (entry.summaryHash !== incident.summaryHash) problems.push(`the summary of incident ${incident.incidentId} was altered`);
        // Alerts are outside the chain: the signed manifest's hash of them is what vouches for them.
        if (entry.alertsHash !== undefined && entry.alertsHash !== incident.alertsHash)
          problems.push(`the alerts of incident ${incident.incidentId} were altered`);
        else if (entry.alertsHash === undefined && incident.alertsHash !== undefined)
          problems.push(`the alerts of incident ${incident.incidentId} are not covered by the manifest`);
        if (entry.events !== incident.events || entry.lastSeq !== incident.lastSeq)
          problems.push(`incident ${incident.incidentId} has ${incident.events} events; the manifest says ${entry.events}`);
        else if (!broken && entry.headHash !== incident.headHash)
          problems.push(`incident ${incident.incidentId}'s last event differs from the manifest's head`);
      }
    }
    const publicKey = options.publicKeyPem ?? manifest.publicKey;
    keyPinned = options.publicKeyPem !== undefined;
    if (keyPinned && manifest.publicKey && keyIdOf(manifest.publicKey) !== keyIdOf(options.publicKeyPem!))
      problems.push(`the export was signed with key ${manifest.keyId}, not the key given`);
    if (!publicKey || !trailer?.signature || !manifestSignatureValid(publicKey, manifest, trailer.signature))
      problems.push('the manifest signature does not verify');
  } else if (section === 'end') {
    problems.push('the export has no manifest');
  }
  return { ok: !broken && problems.length === 0, incidents: seen.length, events: totalEvents, keyId: manifest?.keyId, keyPinned, broken, problems };
}
