import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../services/access/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { useIncidentStack } from '../support/stack.js';

type Trigger = { id: string; threshold?: unknown; groupBy?: string[]; onResolved?: string };
type Alert = { alertKey: string; status: string; summary: string | null; labels: Record<string, string>; signals: number };

const python = path.join(projectRoot, '.tools', 'venv', 'bin', 'python');
const run = promisify(execFile);

/**
 * PagerDuty parity, played with PagerDuty's own Python client (pdpyras 5.4.1, which
 * `scripts/setup.sh --postgres` pins into .tools/venv) pointed at Correx instead of events.pagerduty.com:
 * its EventsAPISession for trigger, acknowledge and resolve, its ChangeEventsAPISession for change events.
 * The shipped runbook's PagerDuty trigger gathers the alerts of one `source` into one incident, so one
 * incident can hold several dedup keys.
 */
describe("PagerDuty parity, driven by PagerDuty's own Python client (pdpyras)", () => {
  const stack = useIncidentStack({
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          const weights = (runbook.triggers as Trigger[]).find((t) => t.id === 'weights-access-anomaly')!;
          weights.groupBy = ['source'];
          weights.onResolved = 'resolve';
        },
      },
      'credit-scoring': 'credit-scoring',
    },
    api: true,
  });
  let routingKey: string;

  beforeAll(async () => {
    await access(python).catch(() => {
      throw new Error(`${python} is missing: run scripts/setup.sh --postgres, which installs pdpyras into .tools/venv`);
    });
    routingKey = (await createToken(stack.db, { owner: 'grafana', roles: ['ingest'], integrationKeyFor: 'frontier-assistant' })).secret;
  });

  /**
   * Runs a Python script with `events` (an EventsAPISession) and `changes` (a ChangeEventsAPISession)
   * on the routing key, both pointed at Correx, and `args`; the script prints one JSON line, returned.
   */
  const pdpyras = async <T = Record<string, unknown>>(script: string, args: Record<string, unknown> = {}): Promise<T> => {
    const prelude = [
      'import json, sys',
      'from datetime import datetime, timedelta, timezone',
      'import pdpyras',
      'args = json.loads(sys.argv[1])',
      "assert pdpyras.__version__ == '5.4.1', pdpyras.__version__",
      "events = pdpyras.EventsAPISession(args['routing_key'])",
      "events.url = args['url']",
      "changes = pdpyras.ChangeEventsAPISession(args['routing_key'])",
      "changes.url = args['url']",
      'def out(value): print(json.dumps(value))',
      '',
    ].join('\n');
    const { stdout } = await run(python, ['-c', prelude + script, JSON.stringify({ routing_key: routingKey, url: stack.api.url, ...args })], {
      timeout: 60_000,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
  };

  const incidentOf = async (source: string) => {
    const rows = await stack.db
      .selectFrom('incidents')
      .selectAll()
      .where('system_id', '=', 'frontier-assistant')
      .where('title', 'like', `%(source=${source})`)
      .execute();
    return rows.length === 1 ? rows[0] : undefined;
  };
  const stateOf = async (id: string) => (await stack.db.selectFrom('incidents').select('state').where('id', '=', id).executeTakeFirstOrThrow()).state;
  const alertsOf = async (id: string) => {
    const reader = await stack.api.token('lena-vogel', ['responder']);
    const answer = await stack.api.call('GET', `/v1/incidents/${id}/alerts`, { token: reader });
    expect(answer.status).toBe(200);
    return (answer.body as { items: Alert[] }).items;
  };
  const statusByKey = async (id: string) => Object.fromEntries((await alertsOf(id)).map((a) => [a.alertKey, a.status]));
  const escalationOf = async (incident: { id: string; workflow_id: string }) => (await stack.clients.incidents.state(incident.workflow_id)).escalation;
  /** Paging stopped, and by whom, once the incident has handled what stops it. */
  const stoppedBy = (incident: { id: string; workflow_id: string }) =>
    eventually(async () => {
      const escalation = await escalationOf(incident);
      return escalation?.state === 'stopped' ? escalation.stoppedBy : undefined;
    });
  const paged = (id: string) =>
    eventually(async () => {
      const pages = await stack.db.selectFrom('timeline_events').select('seq').where('incident_id', '=', id).where('kind', '=', 'page.sent').execute();
      return pages.length > 0 ? true : undefined;
    });

  it('gives a trigger without a dedup_key the key Correx makes, which pdpyras returns and the alert is named by', async () => {
    const { first, second } = await pdpyras<{ first: string; second: string }>(`
payload = {'component': 'weights-store'}
first = events.trigger('Weights bucket read by an unknown principal', 'bucket-keyless', payload=payload, custom_details={'reads': 1200})
second = events.trigger('Weights bucket listed by an unknown principal', 'bucket-keyless', payload=payload)
out({'first': first, 'second': second})
`);
    // PagerDuty makes one key per keyless trigger, so these are two alerts.
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).not.toBe(first);

    const incident = await eventually(() => incidentOf('bucket-keyless'));
    expect(incident.severity).toBe('SEV1');
    expect(incident.title).toBe('Weights bucket read by an unknown principal (source=bucket-keyless)');
    const alerts = await eventually(async () => {
      const items = await alertsOf(incident.id);
      return items.length === 2 ? items : undefined;
    });
    expect(alerts.map((a) => [a.alertKey, a.status, a.summary])).toEqual([
      [first, 'firing', 'Weights bucket read by an unknown principal'],
      [second, 'firing', 'Weights bucket listed by an unknown principal'],
    ]);
    expect(alerts[0]!.labels).toMatchObject({ dedup_key: first, source: 'bucket-keyless', component: 'weights-store' });
    const joined = await eventually(async () => (await listTimeline(stack.db, incident.id)).find((e) => e.kind === 'alert.joined'));
    expect(joined.data).toMatchObject({ alertKey: second, source: 'pagerduty' });

    // The key Correx made is the alert's name from then on: pdpyras resolves it by that key.
    expect(await pdpyras(`out({'key': events.resolve(args['key'])})`, { key: first })).toEqual({ key: first });
    await eventually(async () => ((await statusByKey(incident.id))[first] === 'resolved' ? true : undefined));
    expect((await statusByKey(incident.id))[second]).toBe('firing');
  }, 90_000);

  it('keeps two dedup_keys two alerts, and acknowledges and resolves each on its own, as PagerDuty does', async () => {
    const keys = await pdpyras<string[]>(`
payload = {'component': 'weights-store'}
out([
  events.trigger('Weights read from eu-west', 'bucket-shared', dedup_key='weights-eu', payload=payload),
  events.trigger('Weights read from us-east', 'bucket-shared', dedup_key='weights-us', payload=payload),
])
`);
    expect(keys).toEqual(['weights-eu', 'weights-us']);
    const incident = await eventually(() => incidentOf('bucket-shared'));
    await eventually(async () => ((await alertsOf(incident.id)).length === 2 ? true : undefined));
    expect(await statusByKey(incident.id)).toEqual({ 'weights-eu': 'firing', 'weights-us': 'firing' });
    await paged(incident.id);

    // Acknowledging one alert acknowledges its incident (PagerDuty's rule), and only that alert is acknowledged.
    expect(await pdpyras(`out(events.acknowledge('weights-eu'))`)).toBe('weights-eu');
    await eventually(async () => ((await stateOf(incident.id)) === 'acknowledged' ? true : undefined));
    await eventually(async () => ((await statusByKey(incident.id))['weights-eu'] === 'acknowledged' ? true : undefined));
    expect((await statusByKey(incident.id))['weights-us']).toBe('firing');
    const acknowledged = (await listTimeline(stack.db, incident.id)).find((e) => e.kind === 'incident.acknowledged')!;
    expect(acknowledged.actor).toBe('system:monitor');

    // Resolving one alert resolves that alert; the incident stays open while the other fires.
    expect(await pdpyras(`out(events.resolve('weights-eu'))`)).toBe('weights-eu');
    const first = await eventually(async () => (await listTimeline(stack.db, incident.id)).find((e) => e.kind === 'alert.resolved'));
    expect(first.data).toMatchObject({ alertKey: 'weights-eu', source: 'pagerduty', remaining: 1 });
    expect(await statusByKey(incident.id)).toEqual({ 'weights-eu': 'resolved', 'weights-us': 'firing' });
    expect(await stateOf(incident.id)).toBe('acknowledged');

    // An acknowledge or resolve for a key with no alert is dropped (still 202, the key echoed), as PagerDuty does.
    expect(await pdpyras(`out([events.acknowledge('weights-never'), events.resolve('weights-never')])`)).toEqual(['weights-never', 'weights-never']);
    expect(await stateOf(incident.id)).toBe('acknowledged');
    expect(Object.keys(await statusByKey(incident.id)).sort()).toEqual(['weights-eu', 'weights-us']);

    // The last alert's resolve resolves the incident (PagerDuty's auto-resolution).
    await pdpyras(`out(events.resolve('weights-us'))`);
    await eventually(async () => ((await stateOf(incident.id)) === 'resolved' ? true : undefined), 30_000);
    const timeline = await listTimeline(stack.db, incident.id);
    expect(
      timeline.filter((e) => e.kind === 'alert.resolved').map((e) => [(e.data as { alertKey: string }).alertKey, (e.data as { remaining: number }).remaining]),
    ).toEqual([
      ['weights-eu', 1],
      ['weights-us', 0],
    ]);
    expect(timeline.find((e) => e.kind === 'incident.resolved')!.actor).toBe('system:monitor');
    expect(await statusByKey(incident.id)).toEqual({ 'weights-eu': 'resolved', 'weights-us': 'resolved' });
  }, 120_000);

  it('pages until every alert of the incident resolved, then stops', async () => {
    await pdpyras(`
payload = {'component': 'weights-store'}
events.trigger('Weights copied to an unknown bucket', 'bucket-paging', dedup_key='copy-1', payload=payload)
events.trigger('Weights copied to a second unknown bucket', 'bucket-paging', dedup_key='copy-2', payload=payload)
out(True)
`);
    const incident = await eventually(() => incidentOf('bucket-paging'));
    await eventually(async () => ((await alertsOf(incident.id)).length === 2 ? true : undefined));
    await paged(incident.id);

    await pdpyras(`out(events.resolve('copy-1'))`);
    await eventually(async () => ((await statusByKey(incident.id))['copy-1'] === 'resolved' ? true : undefined));
    // One alert still fires: still paging, still open.
    expect((await escalationOf(incident))?.state).toBe('paging');
    expect(await stateOf(incident.id)).toBe('triggered');

    await pdpyras(`out(events.resolve('copy-2'))`);
    await eventually(async () => ((await stateOf(incident.id)) === 'resolved' ? true : undefined), 30_000);
    // The escalation ended, stopped by the monitor: nobody is paged about it any more.
    expect(await stoppedBy(incident)).toBe('system:monitor');
  }, 120_000);

  it('takes payload timestamps in the forms Python writes them, with and without an offset', async () => {
    // One moment, five seconds ago, written as Python writes it: datetime.utcnow().isoformat() (no
    // offset, read as UTC), an aware UTC datetime (+00:00), another zone (+05:30), and with a Z.
    const { expected, forms } = await pdpyras<{ expected: string; forms: Record<string, string> }>(`
moment = (datetime.now(timezone.utc) - timedelta(seconds=5)).replace(microsecond=123456)
naive = moment.replace(tzinfo=None)
forms = {
  'utcnow': naive.isoformat(),
  'aware-utc': moment.isoformat(),
  'india': moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
  'zulu': naive.isoformat() + 'Z',
}
for name, stamp in forms.items():
  events.trigger('Clock check ' + name, 'clock-check', dedup_key='clock-' + name, payload={'component': 'weights-store', 'timestamp': stamp})
# And the literal call, as a script writes it.
events.trigger('Clock check now', 'clock-check', dedup_key='clock-now', payload={'component': 'weights-store', 'timestamp': datetime.utcnow().isoformat()})
out({'expected': moment.strftime('%Y-%m-%dT%H:%M:%S.123Z'), 'forms': forms})
`);
    expect(forms.utcnow).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.123456$/);
    expect(forms.india).toMatch(/\+05:30$/);
    const signals = await eventually(async () => {
      const rows = await stack.db
        .selectFrom('signals')
        .select(['received_at', sql<string>`labels->>'dedup_key'`.as('key')])
        .where('source', '=', 'pagerduty')
        .where(sql<boolean>`labels->>'source' = 'clock-check'`)
        .execute();
      return rows.length === 5 ? Object.fromEntries(rows.map((r) => [r.key, r.received_at])) : undefined;
    });
    for (const name of ['utcnow', 'aware-utc', 'india', 'zulu']) expect([name, signals[`clock-${name}`]!.toISOString()]).toEqual([name, expected]);
    // utcnow() read as UTC: within the last minute, not hours off by the machine's zone.
    expect(Math.abs(Date.now() - signals['clock-now']!.getTime())).toBeLessThan(60_000);
    const incident = await eventually(() => incidentOf('clock-check'));
    await eventually(async () => ((await alertsOf(incident.id)).length === 5 ? true : undefined));
  }, 90_000);

  it("records change events as context on the system's open incidents, and on incidents opened within the hour after", async () => {
    const responder = await stack.api.token('amara-okafor', ['responder']);
    // An open incident and a resolved one of the system, and an open incident of another system.
    await pdpyras(`
events.trigger('Weights read during the deploy', 'change-open', dedup_key='change-open', payload={'component': 'weights-store'})
events.trigger('Weights read before the deploy', 'change-closed', dedup_key='change-closed', payload={'component': 'weights-store'})
out(True)
`);
    const open = await eventually(() => incidentOf('change-open'));
    const closed = await eventually(() => incidentOf('change-closed'));
    await pdpyras(`out(events.resolve('change-closed'))`);
    await eventually(async () => ((await stateOf(closed.id)) === 'resolved' ? true : undefined), 30_000);
    const other = await stack.api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'credit-scoring', title: 'Score drift', severity: 'SEV3' },
    });
    expect(other.status).toBe(202);
    const otherId = (other.body as { incidentId: string }).incidentId;
    await eventually(async () => ((await stack.db.selectFrom('incidents').select('id').where('id', '=', otherId).executeTakeFirst()) ? true : undefined));
    const signalsBefore = await stack.db.selectFrom('signals').select('id').execute();

    // pdpyras's own two ways: submit (which stamps datetime.utcnow().isoformat() + 'Z') and send_change_event.
    const sent = await pdpyras<{ submitted: string; sent: string; old: string }>(`
submitted = changes.submit('Deployed weights-store v2.3', source='github-actions', custom_details={'commit': 'abc123', 'by': 'ci'},
  links=[{'href': 'https://ci.example/deploys/42', 'text': 'Deploy 42'}])
sent = changes.send_change_event(routing_key=args['routing_key'], payload={'summary': 'Feature flag fast-path on'})
two_hours_ago = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
old = changes.send_change_event(routing_key=args['routing_key'], payload={'summary': 'Rotated the bucket keys', 'timestamp': two_hours_ago})
out({'submitted': submitted, 'sent': sent, 'old': old})
`);
    for (const id of Object.values(sent)) expect(id).toMatch(/^[0-9a-f-]{36}$/);

    // Stored, for the system the integration key is bound to, with who sent it.
    const stored = await sql<{
      id: string;
      system_id: string;
      summary: string;
      source: string | null;
      custom_details: unknown;
      links: unknown;
      sent_by: string;
      occurred_at: Date;
    }>`select id, system_id, summary, source, custom_details, links, sent_by, occurred_at from change_events order by received_at`.execute(stack.db);
    expect(stored.rows.map((r) => r.id)).toEqual([sent.submitted, sent.sent, sent.old]);
    expect(stored.rows[0]).toMatchObject({
      system_id: 'frontier-assistant',
      summary: 'Deployed weights-store v2.3',
      source: 'github-actions',
      custom_details: { commit: 'abc123', by: 'ci' },
      links: [{ href: 'https://ci.example/deploys/42', text: 'Deploy 42' }],
      sent_by: 'grafana',
    });
    expect(Math.abs(Date.now() - stored.rows[0]!.occurred_at.getTime())).toBeLessThan(60_000);
    expect(Math.abs(Date.now() - 2 * 3600_000 - stored.rows[2]!.occurred_at.getTime())).toBeLessThan(60_000);

    // On the open incident's timeline, all three (it is open now, however old the change); context only.
    const changesOn = async (id: string) => (await listTimeline(stack.db, id)).filter((e) => e.kind === 'change.recorded');
    const onOpen = await changesOn(open.id);
    expect(onOpen.map((e) => (e.data as { changeId: string }).changeId).sort()).toEqual([sent.submitted, sent.sent, sent.old].sort());
    expect(onOpen.find((e) => (e.data as { changeId: string }).changeId === sent.submitted)).toMatchObject({
      actor: 'system:ingest',
      data: {
        summary: 'Deployed weights-store v2.3',
        source: 'github-actions',
        customDetails: { commit: 'abc123', by: 'ci' },
        links: [{ href: 'https://ci.example/deploys/42', text: 'Deploy 42' }],
        sentBy: 'grafana',
      },
    });
    const reader = await stack.api.token('lena-vogel', ['responder']);
    const viaApi = await stack.api.call('GET', `/v1/incidents/${open.id}/timeline`, { token: reader });
    expect((viaApi.body as { items: { kind: string }[] }).items.filter((e) => e.kind === 'change.recorded')).toHaveLength(3);
    // Not on a resolved incident, nor on another system's; no signal, no change to the incident.
    expect(await changesOn(closed.id)).toEqual([]);
    expect(await changesOn(otherId)).toEqual([]);
    expect(await stack.db.selectFrom('signals').select('id').execute()).toHaveLength(signalsBefore.length);
    expect(await stateOf(open.id)).toBe('triggered');
    expect((await escalationOf(open))?.state).toBe('paging');

    // An incident opened now gets the changes of the hour before it, not the one from two hours ago.
    await pdpyras(`out(events.trigger('Weights read after the deploy', 'change-later', dedup_key='change-later', payload={'component': 'weights-store'}))`);
    const later = await eventually(() => incidentOf('change-later'));
    const onLater = await eventually(async () => {
      const events = await changesOn(later.id);
      return events.length > 0 ? events : undefined;
    });
    expect(onLater.map((e) => (e.data as { changeId: string }).changeId)).toEqual([sent.submitted, sent.sent]);
    const laterTimeline = await listTimeline(stack.db, later.id);
    expect(laterTimeline[0]!.kind).toBe('incident.opened');
    expect(laterTimeline.slice(1, 3).map((e) => e.kind)).toEqual(['change.recorded', 'change.recorded']);
  }, 120_000);

  it("refuses invalid change events in PagerDuty's format, which pdpyras raises as an HTTP error", async () => {
    const refused = await pdpyras<{ status: number; body: unknown }>(`
try:
  changes.send_change_event(routing_key=args['routing_key'], payload={'source': 'github-actions'})
  out({'status': 202, 'body': None})
except pdpyras.PDHTTPError as error:
  out({'status': error.response.status_code, 'body': error.response.json()})
`);
    expect(refused).toEqual({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.summary' is required"] } });

    const unknownKey = await pdpyras<{ status: number; body: unknown }>(
      `
session = pdpyras.ChangeEventsAPISession('0' * 32)
session.url = args['url']
try:
  session.submit('Deployed')
  out({'status': 202, 'body': None})
except pdpyras.PDHTTPError as error:
  out({'status': error.response.status_code, 'body': error.response.json()})
`,
    );
    expect(unknownKey).toEqual({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid routing key'] } });

    const noPayload = await stack.api.call('POST', '/v2/change/enqueue', { body: { routing_key: routingKey } });
    expect(noPayload.status).toBe(400);
    expect(noPayload.body).toEqual({ status: 'invalid event', message: 'Event object is invalid', errors: ["'payload' is required"] });
    const badTime = await stack.api.call('POST', '/v2/change/enqueue', {
      body: { routing_key: routingKey, payload: { summary: 'x', timestamp: 'yesterday' } },
    });
    expect((badTime.body as { errors: string[] }).errors).toEqual(["'payload.timestamp' must be an ISO 8601 timestamp, e.g. 2026-12-02T09:30:00Z"]);
    // An integration key of another role's token is no routing key: a bearer token of an ingest sender is refused.
    const bearer = await stack.api.token('someone', ['ingest']);
    expect((await stack.api.call('POST', '/v2/change/enqueue', { body: { routing_key: bearer.slice(0, 32), payload: { summary: 'x' } } })).status).toBe(400);
    // Nothing of a refused change is stored.
    expect((await sql<{ n: number }>`select count(*)::int as n from change_events where summary in ('x', 'Deployed')`.execute(stack.db)).rows[0]!.n).toBe(0);
  }, 60_000);
});
