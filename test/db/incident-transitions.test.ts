import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentActivities } from '../../activities/incident.js';
import { sql } from 'kysely';
import { recordIncidentOpened, recordIncidentTransition, type IncidentTransition } from '../../services/incident/repository.js';
import { recordTransition } from '../../services/incident/transition.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { testDatabaseBackends, type TestDatabase } from '../support/database.js';

const runId = randomUUID();
const scheduled = (ordinal: number) => Date.parse('2026-11-22T10:00:00.000Z') + ordinal * 1000;

// Fault-suite finding 1: the activity recording `mitigated` was held back while PostgreSQL was down,
// the `resolved` one (scheduled later by the workflow) ran first, and the late one moved the row back.
describe.each(testDatabaseBackends)('incident transitions recorded out of order on $backend', ({ create }) => {
  let database: TestDatabase;
  let incidentId: string;
  let activities: ReturnType<typeof createIncidentActivities>;
  afterEach(async () => {
    await database?.destroy();
  });

  async function openIncident() {
    database = await create();
    incidentId = randomUUID();
    activities = createIncidentActivities({ db: database.db, client: undefined as unknown as Client });
    await recordIncidentOpened(database.db, {
      incidentId,
      workflowId: `incident:frontier-assistant:${incidentId}`,
      systemId: 'frontier-assistant',
      dedupKey: incidentId,
      title: 'Jailbreak success rate above 2%',
      severity: 'SEV2',
      summary: undefined,
      openedBy: 'jonas-berg',
      openedAt: '2026-11-22T10:00:00.000Z',
      runbookVersion: 'sha256:abc',
    });
  }

  /** Runs the activity as the worker would for the workflow's `ordinal`-th activity of the run. */
  const inWorkflowOrder = (ordinal: number) =>
    new MockActivityEnvironment({
      activityId: String(ordinal),
      workflowExecution: { workflowId: `incident:frontier-assistant:${incidentId}`, runId },
      scheduledTimestampMs: scheduled(ordinal),
    });
  const transition = (ordinal: number, t: Omit<IncidentTransition, 'incidentId'>) =>
    inWorkflowOrder(ordinal).run(activities.recordIncidentTransition, { incidentId, ...t });
  const reopen = (ordinal: number, resolutions: number) =>
    inWorkflowOrder(ordinal).run(activities.recordIncidentEvent, {
      incidentId,
      kind: 'incident.reopened' as const,
      actor: 'system:monitor',
      data: { reason: 'fired again' },
      idempotencyKey: `incident.reopened:${resolutions}`,
      state: 'acknowledged' as const,
    });
  const row = () => database.db.selectFrom('incidents').selectAll().where('id', '=', incidentId).executeTakeFirstOrThrow();
  const kinds = async () =>
    (await listTimeline(database.db, incidentId)).map((e) => (e.kind === 'incident.transition_superseded' ? `superseded:${String(e.data.state)}` : e.kind));

  it('never moves the row back when an earlier transition is recorded after a later one', async () => {
    await openIncident();
    await transition(5, { state: 'acknowledged', actor: 'jonas-berg', at: '2026-11-22T10:01:00.000Z', commander: 'jonas-berg' });
    await transition(8, { state: 'mitigating', actor: 'jonas-berg', at: '2026-11-22T10:02:00.000Z' });
    // `mitigated` (the workflow's 11th activity) is held back; the resolution (14th) is recorded first.
    await transition(14, { state: 'resolved', actor: 'jonas-berg', at: '2026-11-22T10:05:00.000Z', occurrence: 1 });
    await transition(11, { state: 'mitigated', actor: 'system:enforcement' });
    // And its retry after that changes nothing either.
    await transition(11, { state: 'mitigated', actor: 'system:enforcement' });

    const incident = await row();
    expect(incident.state).toBe('resolved');
    expect(incident.resolved_at?.toISOString()).toBe('2026-11-22T10:05:00.000Z');
    // When the workflow made the transition, not when the late activity ran.
    expect(incident.mitigated_at?.toISOString()).toBe(new Date(scheduled(11)).toISOString());
    expect(incident.commander).toBe('jonas-berg');
    // The timeline keeps the lifecycle's order, and the late fact as such, once.
    expect(await kinds()).toEqual(['incident.opened', 'incident.acknowledged', 'incident.mitigating', 'incident.resolved', 'superseded:mitigated']);
    const late = (await listTimeline(database.db, incidentId)).at(-1)!;
    expect(late.data).toMatchObject({ state: 'mitigated', recordedWhile: 'resolved' });
    expect(late.occurred_at.toISOString()).toBe(new Date(scheduled(11)).toISOString());
  });

  it('lets a re-opening move the row back, and no late resolution undo it', async () => {
    await openIncident();
    await transition(5, { state: 'acknowledged', actor: 'jonas-berg', at: '2026-11-22T10:01:00.000Z', commander: 'jonas-berg' });
    await transition(9, { state: 'resolved', actor: 'system:monitor', at: '2026-11-22T10:03:00.000Z', occurrence: 1 });
    await reopen(12, 1);
    expect(await row()).toMatchObject({ state: 'acknowledged', resolved_at: null });

    // A retry of the first resolution, late, is not a second resolution.
    await transition(9, { state: 'resolved', actor: 'system:monitor', at: '2026-11-22T10:03:00.000Z', occurrence: 1 });
    expect(await row()).toMatchObject({ state: 'acknowledged', resolved_at: null });

    await transition(15, { state: 'mitigating', actor: 'jonas-berg', at: '2026-11-22T10:04:00.000Z' });
    await transition(20, { state: 'resolved', actor: 'jonas-berg', at: '2026-11-22T10:06:00.000Z', occurrence: 2 });
    const incident = await row();
    expect(incident.state).toBe('resolved');
    expect(incident.resolved_at?.toISOString()).toBe('2026-11-22T10:06:00.000Z');
    expect(await kinds()).toEqual([
      'incident.opened',
      'incident.acknowledged',
      'incident.resolved',
      'incident.reopened',
      'incident.mitigating',
      'incident.resolved',
    ]);
  });

  it('keeps a re-opening recorded before the resolution it undoes', async () => {
    await openIncident();
    await transition(5, { state: 'acknowledged', actor: 'jonas-berg', at: '2026-11-22T10:01:00.000Z', commander: 'jonas-berg' });
    await reopen(12, 1);
    await transition(9, { state: 'resolved', actor: 'system:monitor', at: '2026-11-22T10:03:00.000Z', occurrence: 1 });
    expect(await row()).toMatchObject({ state: 'acknowledged', resolved_at: null });
  });

  it('without the workflow order (outside an activity), follows the lifecycle order', async () => {
    await openIncident();
    await recordIncidentTransition(database.db, {
      incidentId,
      state: 'acknowledged',
      actor: 'jonas-berg',
      at: '2026-11-22T10:01:00.000Z',
      commander: 'jonas-berg',
    });
    await recordIncidentTransition(database.db, { incidentId, state: 'resolved', actor: 'jonas-berg', at: '2026-11-22T10:05:00.000Z' });
    await recordIncidentTransition(database.db, { incidentId, state: 'mitigated', actor: 'system:enforcement', at: '2026-11-22T10:04:00.000Z' });
    const incident = await row();
    expect(incident.state).toBe('resolved');
    expect(incident.mitigated_at?.toISOString()).toBe('2026-11-22T10:04:00.000Z');
  });

  it('writes an acknowledgement and its pages marked in one transaction: all of it or none', async () => {
    await openIncident();
    const acknowledged: IncidentTransition = {
      incidentId,
      state: 'acknowledged',
      actor: 'jonas-berg',
      at: '2026-11-22T10:01:00.000Z',
      commander: 'jonas-berg',
    };
    // Marking the pages fails (a lost connection, a full disk): the acknowledgement must not stand half-written.
    await sql`create function refuse_pages() returns trigger language plpgsql as $$ begin raise exception 'pages refused'; end $$`.execute(database.db);
    await sql`create trigger refuse_pages before update on pages for each statement execute function refuse_pages()`.execute(database.db);
    await expect(recordTransition(database.db, acknowledged)).rejects.toThrow(/pages refused/);
    expect(await row()).toMatchObject({ state: 'triggered', commander: null, acknowledged_at: null });
    expect((await listTimeline(database.db, incidentId)).map((e) => e.kind)).toEqual(['incident.opened']);

    // Retried once the pages can be marked: recorded once.
    await sql`drop trigger refuse_pages on pages`.execute(database.db);
    await recordTransition(database.db, acknowledged);
    await recordTransition(database.db, acknowledged);
    expect(await row()).toMatchObject({ state: 'acknowledged', commander: 'jonas-berg' });
    expect((await listTimeline(database.db, incidentId)).map((e) => e.kind)).toEqual(['incident.opened', 'incident.acknowledged']);
  });
});
