import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { verifyExport } from '../services/export/verify.js';
import { messageIdFor } from '../services/notification/mailer.js';
import { workflowsPath } from '../services/worker.js';
import { REGIMES_FOR_SERIOUS_HARM, type DrivenIncident } from './driver.js';
import type { FaultRecord } from './schedule.js';
import type { ControlEndpoint } from '../test/support/control-endpoint.js';
import type { MailSink } from '../test/support/smtp.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** One line of figures. */
  summary: string;
  /** What failed, one line each (at most a few are printed). */
  problems: string[];
}

export interface CheckInputs {
  db: Kysely<Database>;
  incidents: DrivenIncident[];
  enforcer: ControlEndpoint;
  smtp: MailSink;
  api: string;
  complianceToken: string;
  publicKeyPem: string;
  /** `--break timeline`: one exported event is altered before it is verified. */
  tamperTimeline: boolean;
}

/** Event kinds each incident of the script must have exactly once. */
const ONCE = [
  'incident.opened',
  'incident.acknowledged',
  'incident.resolved',
  'correction.proposed',
  'correction.approved',
  'correction.applied',
  'correction.verified',
  'correction.lift_decided',
  'correction.lifted',
];

/** The incident's own transitions, in the only order the script can produce them. */
const LIFECYCLE = ['incident.opened', 'incident.acknowledged', 'incident.mitigating', 'incident.mitigated', 'incident.resolved'];

/** Consumers each correction kind reaches (runbooks/frontier-assistant.yaml, `affectedBy`), and how. */
const CONSUMER_OF_KIND = {
  rate_limit: { consumer: 'northwind-support', method: 'email' },
  capability_restriction: { consumer: 'lexicon-legal', method: 'webhook' },
} as const;

const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

/**
 * What the incidents' timelines say about each fallback activation: whether Correx claims it took
 * place (`fallback.activated`), and whether it recorded a failed attempt. Correx stops retrying an
 * activation once the correction is being lifted (moot by then; docs/faults.md, finding 5): such an
 * activation may never reach the consumer, by design, but then Correx must not claim it did, and
 * must have recorded (and paged about) the failure. Both the webhook and the email fallbacks can end
 * so.
 */
async function fallbackActivations(db: CheckInputs['db'], incidentIds: string[]) {
  const events = incidentIds.length
    ? await db
        .selectFrom('timeline_events')
        .select(['kind', 'data'])
        .where('incident_id', 'in', incidentIds)
        // Failures are `fallback.failed` (action activate) since each consumer runs on its own; runs from
        // before recorded them as `correction.fallback-activate-<consumer>_failed`.
        .where((eb) =>
          eb.or([eb('kind', '=', 'fallback.activated'), eb('kind', '=', 'fallback.failed'), eb('kind', 'like', 'correction.fallback-activate-%_failed')]),
        )
        .execute()
    : [];
  return (correctionId: string, consumer: string) => {
    const mine = events.filter((e) => e.data.correctionId === correctionId);
    const claimed = mine.some((e) => e.kind === 'fallback.activated' && e.data.consumer === consumer);
    const failed = mine.some(
      (e) =>
        e.kind === `correction.fallback-activate-${consumer}_failed` ||
        (e.kind === 'fallback.failed' && e.data.consumer === consumer && e.data.action === 'activate'),
    );
    return { claimed, failed, abandoned: !claimed && failed };
  };
}

/** Every incident reached its expected final state: resolved, its one correction lifted. */
export async function checkFinalStates({ db, incidents, api, complianceToken }: CheckInputs): Promise<CheckResult> {
  const problems: string[] = [];
  let resolved = 0;
  for (const d of incidents) {
    const label = `incident ${d.plan.n}${d.incidentId ? ` (${d.incidentId})` : ''}`;
    if (d.error) problems.push(`${label}: the script stopped: ${d.error}`);
    if (!d.incidentId) continue;
    const row = await db.selectFrom('incidents').select(['state']).where('id', '=', d.incidentId).executeTakeFirst();
    const corrections = await db.selectFrom('corrections').select(['id', 'state']).where('incident_id', '=', d.incidentId).execute();
    const live = await fetch(`${api}/v1/incidents/${d.incidentId}`, { headers: { authorization: `Bearer ${complianceToken}` } })
      .then((r) => r.json() as Promise<{ live?: { state?: string } }>)
      .catch(() => undefined);
    const good = row?.state === 'resolved' && live?.live?.state === 'resolved' && corrections.length === 1 && corrections[0]!.state === 'lifted';
    if (good) resolved += 1;
    else {
      const transitions = await db
        .selectFrom('timeline_events')
        .select(['seq', 'kind', 'occurred_at'])
        .where('incident_id', '=', d.incidentId)
        .where('kind', 'like', 'incident.%')
        .orderBy('seq')
        .execute();
      problems.push(
        `${label}: recorded ${row?.state ?? 'missing'}, workflow ${live?.live?.state ?? 'unknown'}, ${plural(corrections.length, 'correction')} (${corrections.map((c) => c.state).join(', ') || 'none'}); ` +
          `timeline: ${transitions.map((t) => `${t.seq} ${t.kind.replace('incident.', '')} ${t.occurred_at.toISOString().slice(11, 23)}`).join(', ')}`,
      );
    }
  }
  return {
    name: 'final state',
    ok: problems.length === 0 && resolved === incidents.length,
    summary: `${resolved}/${incidents.length} resolved with their correction lifted`,
    problems,
  };
}

/** Each correction applied exactly once and lifted exactly once at the enforcer (fallback switches likewise). */
export async function checkEnforcement({ db, incidents, enforcer }: CheckInputs): Promise<CheckResult> {
  const problems: string[] = [];
  const ids = incidents.filter((d) => d.incidentId).map((d) => d.incidentId!);
  const all = ids.length ? await db.selectFrom('corrections').select(['id', 'kind', 'applied_at']).where('incident_id', 'in', ids).execute() : [];
  const known = new Set(all.map((c) => c.id));
  // A correction never applied (a stray proposal still pending, rejected, expired) must have had no effect at all.
  for (const c of all.filter((x) => !x.applied_at)) {
    for (const [key, times] of enforcer.applications)
      if (key.startsWith(`${c.id}:`) && times > 0) problems.push(`${key}: took effect for a correction Correx never applied`);
  }
  const corrections = all.filter((c) => c.applied_at);
  const activation = await fallbackActivations(db, ids);
  let onceEach = 0;
  let abandoned = 0;
  for (const c of corrections) {
    const keys = [`${c.id}:apply`, `${c.id}:lift`];
    const target = CONSUMER_OF_KIND[c.kind as keyof typeof CONSUMER_OF_KIND];
    let good = true;
    if (target?.method === 'webhook') {
      keys.push(`${c.id}:${target.consumer}:fallback-deactivate`);
      const activate = `${c.id}:${target.consumer}:fallback-activate`;
      const times = enforcer.applications.get(activate) ?? 0;
      const { claimed, failed } = activation(c.id, target.consumer);
      if (times === 0 && !claimed && failed) abandoned += 1;
      else if (times !== 1 || !claimed) {
        good = false;
        problems.push(
          `${activate}: took effect ${times} times; timeline ${claimed ? 'says' : 'does not say'} fallback.activated${failed ? ' (after a recorded failure)' : ''}`,
        );
      }
    }
    for (const key of keys) {
      const times = enforcer.applications.get(key) ?? 0;
      if (times !== 1) {
        good = false;
        problems.push(`${key}: took effect ${times} times`);
      }
    }
    if (enforcer.inForce(c.id)) {
      good = false;
      problems.push(`correction ${c.id} is still in force at the enforcer`);
    }
    if (target?.method === 'webhook' && enforcer.fallbackOn(c.id, target.consumer)) {
      good = false;
      problems.push(`the fallback of ${target.consumer} for ${c.id} is still on`);
    }
    if (good) onceEach += 1;
  }
  for (const key of enforcer.applications.keys()) {
    if (!known.has(key.split(':')[0]!)) problems.push(`${key}: applied for a correction Correx has no record of`);
  }
  const posts = enforcer.log.filter((r) => r.method === 'POST');
  const attempts = new Map<string, number>();
  for (const r of posts) if (r.idempotencyKey) attempts.set(r.idempotencyKey, (attempts.get(r.idempotencyKey) ?? 0) + 1);
  const repeated = [...attempts.values()].filter((n) => n > 1).length;
  return {
    name: 'enforced once',
    ok: problems.length === 0 && onceEach === incidents.length,
    summary:
      `${onceEach}/${incidents.length} corrections applied once and lifted once; ${posts.length} POSTs for ${attempts.size} keys ` +
      `(${repeated} keys sent more than once, ${posts.filter((r) => r.outcome === 'repeat').length} repeats answered without effect, ` +
      `${enforcer.log.filter((r) => r.outcome === 'failed').length} requests failed 503, ${enforcer.log.filter((r) => r.held).length} held)` +
      (abandoned ? `; ${abandoned} fallback activations failed, recorded and abandoned when the lift came first` : ''),
    problems,
  };
}

/**
 * Each notice delivered once: every page, downstream notice, fallback request and regulator report
 * recorded as sent, its mail received under its one Message-ID, and no mail Correx did not mean to
 * send. The same Message-ID arriving twice is SMTP's at-least-once (a retry after the relay accepted
 * but before Correx recorded it) and is collapsed by mail clients: counted, not failed.
 */
export async function checkNotices({ db, incidents, smtp }: CheckInputs): Promise<CheckResult> {
  const problems: string[] = [];
  const ids = incidents.filter((d) => d.incidentId).map((d) => d.incidentId!);
  if (ids.length === 0) return { name: 'notices once', ok: false, summary: 'no incidents', problems: ['no incident was opened'] };
  const notifications = await db.selectFrom('notifications').selectAll().where('incident_id', 'in', ids).execute();
  const pages = await db.selectFrom('pages').selectAll().where('incident_id', 'in', ids).execute();
  // Notices go out for corrections put in force; one never applied has none.
  const corrections = await db
    .selectFrom('corrections')
    .select(['id', 'kind', 'incident_id'])
    .where('incident_id', 'in', ids)
    .where('applied_at', 'is not', null)
    .execute();
  const approved = new Set(incidents.flatMap((d) => d.reportIds));
  const activation = await fallbackActivations(db, ids);
  const received = new Map<string, number>();
  for (const mail of smtp.received) received.set(mail.messageId ?? '(none)', (received.get(mail.messageId ?? '(none)') ?? 0) + 1);

  const expected = new Map<string, string>();
  for (const p of pages) {
    if (!p.sent_at) problems.push(`page ${p.idempotency_key} to ${p.target} was never sent`);
    else expected.set(messageIdFor(p.idempotency_key), `page ${p.idempotency_key}`);
  }
  let notices = 0;
  let reports = 0;
  let abandoned = 0;
  for (const n of notifications) {
    if (n.audience === 'regulator') {
      if (!approved.has(n.id)) continue;
      reports += 1;
      if (!n.sent_at || n.state !== 'sent') problems.push(`regulator report ${n.regime}/${n.clock_id} of ${n.incident_id}: approved but ${n.state}`);
      else expected.set(messageIdFor(n.idempotency_key), `report ${n.idempotency_key}`);
      continue;
    }
    notices += 1;
    if (!n.sent_at || n.state !== 'sent') problems.push(`notice ${n.idempotency_key}: ${n.state}`);
    else expected.set(messageIdFor(n.idempotency_key), `notice ${n.idempotency_key}`);
  }
  for (const c of corrections) {
    const target = CONSUMER_OF_KIND[c.kind as keyof typeof CONSUMER_OF_KIND];
    if (!target) continue;
    const mine = notifications
      .filter((n) => n.correction_id === c.id && n.audience !== 'regulator')
      .map((n) => n.idempotency_key)
      .sort();
    const want = [`${c.id}:${target.consumer}:notice-applied`, `${c.id}:${target.consumer}:notice-lifted`];
    if (mine.join() !== want.join()) problems.push(`correction ${c.id}: notices ${mine.join(', ') || 'none'}, expected ${want.join(', ')}`);
    if (target.method === 'email') {
      const activate = messageIdFor(`${c.id}:${target.consumer}:fallback-activate`);
      if (!received.has(activate) && activation(c.id, target.consumer).abandoned) abandoned += 1;
      else expected.set(activate, `fallback request activate ${c.id}`);
      expected.set(messageIdFor(`${c.id}:${target.consumer}:fallback-deactivate`), `fallback request deactivate ${c.id}`);
    }
  }
  if (approved.size !== reports) problems.push(`${approved.size} reports approved by the script, ${reports} found`);

  let delivered = 0;
  for (const [messageId, what] of expected) {
    if (received.has(messageId)) delivered += 1;
    else problems.push(`${what}: never received (${messageId})`);
  }
  const unexpected = [...received.keys()].filter((id) => !expected.has(id));
  for (const id of unexpected) {
    const mail = smtp.received.find((m) => (m.messageId ?? '(none)') === id)!;
    problems.push(
      `mail ${id} to ${mail.to.join(', ')} ("${mail.subject}") matches nothing Correx recorded: a second copy of a notice under another Message-ID?`,
    );
  }
  const redelivered = [...received.entries()].filter(([id, n]) => expected.has(id) && n > 1).reduce((sum, [, n]) => sum + n - 1, 0);
  return {
    name: 'notices once',
    ok: problems.length === 0,
    summary:
      `${delivered}/${expected.size} messages delivered under one Message-ID each (${pages.length} pages, ${notices} notices, ${reports} regulator reports, ` +
      `${expected.size - pages.length - notices - reports} fallback requests); SMTP saw ${smtp.received.length} deliveries ` +
      `(${redelivered} repeats of a Message-ID), refused ${smtp.rejected}, held ${smtp.held}` +
      (abandoned ? `; ${abandoned} fallback requests failed, recorded and abandoned when the lift came first` : ''),
    problems,
  };
}

async function* lines(body: ReadableStream<Uint8Array>, tamper: boolean): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let tampered = !tamper;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buffer += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      let line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!tampered && line.includes('"kind":"correction.applied"')) {
        // `--break timeline`: what an edit of the stored record would look like to a verifier.
        line = line.replace('"actor":"system:enforcement"', '"actor":"system:somebody-else"');
        tampered = true;
      }
      yield line;
    }
    if (done) break;
  }
  if (buffer) yield buffer;
}

/** Every incident's timeline exports (signed) and verifies: hashes, links, sequence, manifest, signature. */
export async function checkTimelines({ db, incidents, api, complianceToken, publicKeyPem, tamperTimeline }: CheckInputs): Promise<CheckResult> {
  const problems: string[] = [];
  let verified = 0;
  let events = 0;
  let first = true;
  for (const d of incidents) {
    if (!d.incidentId) {
      problems.push(`incident ${d.plan.n}: never opened`);
      continue;
    }
    const response = await fetch(`${api}/v1/exports?incidentId=${d.incidentId}`, { headers: { authorization: `Bearer ${complianceToken}` } });
    if (!response.ok || !response.body) {
      problems.push(`${d.incidentId}: export answered ${response.status}`);
      continue;
    }
    const result = await verifyExport(lines(response.body, tamperTimeline && first), { publicKeyPem });
    first = false;
    events += result.events;
    const kinds = await db.selectFrom('timeline_events').select(['kind']).where('incident_id', '=', d.incidentId).orderBy('seq').execute();
    const wrongCounts = ONCE.map((kind) => [kind, kinds.filter((k) => k.kind === kind).length] as const).filter(([, n]) => n !== 1);
    const transitions = kinds.map((k) => k.kind).filter((k) => LIFECYCLE.includes(k));
    const inOrder = transitions.every((k, i) => i === 0 || LIFECYCLE.indexOf(transitions[i - 1]!) < LIFECYCLE.indexOf(k));
    if (!result.ok) {
      problems.push(
        `${d.incidentId}: ${result.broken ? `event ${result.broken.seq} (line ${result.broken.line}): ${result.broken.reason}` : result.problems.join('; ')}`,
      );
    } else if (wrongCounts.length > 0) {
      problems.push(`${d.incidentId}: ${wrongCounts.map(([kind, n]) => `${kind} ×${n}`).join(', ')} (each expected once)`);
    } else if (!inOrder) {
      problems.push(`${d.incidentId}: the incident's transitions are out of order on its timeline: ${transitions.join(' → ')}`);
    } else verified += 1;
  }
  return {
    name: 'timelines verify',
    ok: problems.length === 0 && verified === incidents.length,
    summary: `${verified}/${incidents.length} signed exports verify (${events} events), each step on the timeline once and in order`,
    problems,
  };
}

/**
 * No regulator deadline missed because of the faults: no `regulatory.deadline_missed` event, every
 * classified incident has its regimes' clocks running (reports drafted), every report sent was on
 * time, and every unsent one is still before its deadline.
 */
export async function checkDeadlines({ db, incidents }: CheckInputs): Promise<CheckResult> {
  const problems: string[] = [];
  const ids = incidents.filter((d) => d.incidentId).map((d) => d.incidentId!);
  if (ids.length === 0) return { name: 'no deadline missed', ok: false, summary: 'no incidents', problems: ['no incident was opened'] };
  const missed = await db
    .selectFrom('timeline_events')
    .select(['incident_id', 'data'])
    .where('incident_id', 'in', ids)
    .where('kind', '=', 'regulatory.deadline_missed')
    .execute();
  for (const m of missed) problems.push(`${m.incident_id}: regulatory.deadline_missed ${JSON.stringify(m.data)}`);
  const reports = await db.selectFrom('notifications').selectAll().where('incident_id', 'in', ids).where('audience', '=', 'regulator').execute();
  const now = Date.now();
  let minMarginMs = Number.POSITIVE_INFINITY;
  let sent = 0;
  for (const r of reports) {
    if (!r.due_at) {
      problems.push(`${r.incident_id}: report ${r.regime}/${r.clock_id} has no deadline`);
      continue;
    }
    if (r.sent_at) {
      sent += 1;
      const margin = r.due_at.getTime() - r.sent_at.getTime();
      minMarginMs = Math.min(minMarginMs, margin);
      if (r.late || margin < 0) problems.push(`${r.incident_id}: report ${r.regime}/${r.clock_id} sent late`);
    } else {
      const margin = r.due_at.getTime() - now;
      minMarginMs = Math.min(minMarginMs, margin);
      if (margin < 0) problems.push(`${r.incident_id}: report ${r.regime}/${r.clock_id} unsent past its deadline`);
    }
  }
  const classified = incidents.filter((d) => d.plan.classify && d.incidentId);
  for (const d of classified) {
    for (const regime of REGIMES_FOR_SERIOUS_HARM) {
      if (!reports.some((r) => r.incident_id === d.incidentId && r.regime === regime && r.clock_id === 'initial'))
        problems.push(`${d.incidentId}: no ${regime} clock (initial report never drafted)`);
    }
  }
  const margin = Number.isFinite(minMarginMs) ? `${(minMarginMs / 3_600_000).toFixed(1)} h` : 'n/a';
  return {
    name: 'no deadline missed',
    ok: problems.length === 0,
    summary: `${classified.length} classified incidents, ${reports.length} regulator reports (${sent} sent on time), ${missed.length} deadline_missed events, smallest margin ${margin}`,
    problems,
  };
}

/**
 * Every fault took place and what it broke came back: after each SIGKILL a new worker polls; the
 * worker and the API reconnect to the restarted Temporal server on their own (same processes), and
 * workflow queries through the API are answered again; PostgreSQL runs again.
 */
export function checkRecovery(faults: FaultRecord[]): CheckResult {
  const problems = faults.filter((f) => !f.startedAt || f.error).map((f) => `${f.name}: ${f.error ?? 'never ran'}`);
  const restart = faults.find((f) => f.name.startsWith('Temporal'));
  const sameProcesses = restart?.detail.includes('worker reconnected') && !restart.detail.includes('process replaced');
  if (restart && !restart.error && !sameProcesses) problems.push(`Temporal restart: ${restart.detail}`);
  return {
    name: 'recovered',
    ok: problems.length === 0,
    summary: `${faults.length - problems.length}/${faults.length} faults over and recovered${restart && !restart.error ? ` (after the Temporal restart: ${restart.detail.replace(/^.*?; down [^;]*; /, '')})` : ''}`,
    problems,
  };
}

export interface ReplayInputs {
  /** The run's Temporal server: every workflow on it was started by this run. */
  temporalAddress: string;
  /** Where histories that do not replay are written, for `temporal workflow` or a replay test. */
  logsDir: () => Promise<string>;
}

/**
 * Every workflow history of the run replays on the code that wrote it. A worker killed mid-task, a
 * local activity that outlived its workflow task, a Temporal restart: each leaves a history shape that
 * only a replay (a query, a cache eviction, the next worker) reads back, maybe long after the run.
 * Replaying them all here finds a nondeterministic one now rather than as a stuck incident later.
 */
export async function checkReplay({ temporalAddress, logsDir }: ReplayInputs): Promise<CheckResult> {
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const problems: string[] = [];
    const histories = client.workflow.list().intoHistories({ concurrency: 4 });
    const failed: { workflowId: string; error: string }[] = [];
    let total = 0;
    for await (const result of Worker.runReplayHistories({ workflowsPath, replayName: 'faults' }, histories)) {
      total += 1;
      if (result.error) failed.push({ workflowId: result.workflowId, error: result.error.message });
    }
    if (failed.length) {
      const dir = await logsDir();
      for (const { workflowId, error } of failed) {
        const history = await client.workflow.getHandle(workflowId).fetchHistory();
        const file = path.join(dir, `history-${workflowId.replace(/[^A-Za-z0-9_.-]+/g, '_')}.json`);
        await writeFile(file, historyToJSON(history));
        problems.push(`${workflowId} does not replay: ${error.split('\n')[0]} (history in ${file})`);
      }
    }
    return {
      name: 'replay',
      ok: failed.length === 0 && total > 0,
      summary:
        total === 0
          ? 'no workflow histories found'
          : `${total - failed.length} of ${plural(total, 'workflow history', 'workflow histories')} replay on this code`,
      problems,
    };
  } finally {
    await connection.close();
  }
}
