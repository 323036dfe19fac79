import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordIncidentOpened } from '../../services/incident/repository.js';
import { createMailer } from '../../services/notification/mailer.js';
import { sendNotices, type Notice } from '../../services/notification/notices.js';
import { internalUpdate } from '../../services/notification/templates.js';
import { listNotifications } from '../../services/notification/repository.js';
import { listTimeline, verifyStoredChain } from '../../services/timeline/repository.js';
import { MailSink } from '../support/smtp.js';
import { anIncidentStart, createPostgresTestDatabase, type TestDatabase } from '../support/database.js';

describe('notices of one milestone, sent together', () => {
  let database: TestDatabase | undefined;
  let sink: MailSink | undefined;
  let outbox: string | undefined;
  afterEach(async () => {
    await database?.destroy();
    await sink?.stop();
    if (outbox) await rm(outbox, { recursive: true, force: true });
  });

  it('sends to everyone a refused recipient does not hold back, and a retry sends only what is left', async () => {
    database = await createPostgresTestDatabase();
    sink = await new MailSink().start();
    outbox = await mkdtemp(path.join(tmpdir(), 'correx-notices-'));
    const mailer = createMailer({ smtpUrl: sink.url, outboxDir: outbox, from: 'correx@meridian.example' });
    const incident = anIncidentStart();
    await recordIncidentOpened(database.db, incident);
    const people = [
      { name: 'Amara Okafor', email: 'amara@meridian.example' },
      { name: 'Jonas Berg', email: 'jonas@meridian.example' },
      { name: 'Lena Fischer', email: 'lena@meridian.example' },
    ];
    const notices: Notice[] = people.map((person, i) => ({
      incidentId: incident.incidentId,
      idempotencyKey: `${incident.incidentId}:internal:opened:p${i}`,
      audience: 'internal',
      recipient: person,
      message: internalUpdate(incident, person.name, { headline: 'incident opened at SEV2', at: incident.openedAt, by: incident.openedBy }),
      action: { what: 'Follow the incident', path: `/console/incidents/${incident.incidentId}`, command: `correx incident show ${incident.incidentId}` },
    }));
    sink.refuseMailTo('jonas@meridian.example');

    await expect(sendNotices(database.db, mailer, notices, 'https://correx.meridian.example')).rejects.toThrow(
      /1 of 3 notices not sent \(jonas@meridian\.example: .*452/,
    );
    expect(sink.to('amara@meridian.example')).toHaveLength(1);
    expect(sink.to('lena@meridian.example')).toHaveLength(1);
    expect(sink.to('jonas@meridian.example')).toHaveLength(0);
    // Each mail names what to do, where and with which command.
    expect(sink.to('amara@meridian.example')[0]!.text).toContain(`https://correx.meridian.example/console/incidents/${incident.incidentId}`);
    expect(sink.to('amara@meridian.example')[0]!.text).toContain(`correx incident show ${incident.incidentId}`);
    const states = async () => Object.fromEntries((await listNotifications(database!.db, incident.incidentId)).map((n) => [n.recipient, n.state]));
    expect(await states()).toEqual({ 'amara@meridian.example': 'sent', 'jonas@meridian.example': 'drafted', 'lena@meridian.example': 'sent' });
    const sentTo = async () =>
      (await listTimeline(database!.db, incident.incidentId)).filter((e) => e.kind === 'notice.sent').map((e) => (e.data as { email: string }).email);
    expect(await sentTo()).toEqual(['amara@meridian.example', 'lena@meridian.example']);

    // The activity's retry, once the mailbox takes mail again: only Jonas is mailed, each is recorded once.
    sink.acceptMailTo('jonas@meridian.example');
    await sendNotices(database.db, mailer, notices, 'https://correx.meridian.example');
    await sendNotices(database.db, mailer, notices, 'https://correx.meridian.example');
    for (const person of people) expect(sink.to(person.email), person.email).toHaveLength(1);
    expect(Object.values(await states())).toEqual(['sent', 'sent', 'sent']);
    expect(await sentTo()).toEqual(['amara@meridian.example', 'lena@meridian.example', 'jonas@meridian.example']);
    expect((await verifyStoredChain(database.db, incident.incidentId)).ok).toBe(true);
  });

  it('refuses notices about two incidents in one call', async () => {
    database = await createPostgresTestDatabase();
    const mailer = createMailer({ smtpUrl: undefined, outboxDir: tmpdir(), from: 'correx@meridian.example' });
    const notice = (incidentId: string): Notice => ({
      incidentId,
      idempotencyKey: `${incidentId}:x`,
      audience: 'internal',
      recipient: { name: 'Amara Okafor', email: 'amara@meridian.example' },
      message: { subject: 's', text: 't', html: '<p>t</p>' },
    });
    await expect(sendNotices(database.db, mailer, [notice('a'), notice('b')], 'https://correx.example')).rejects.toThrow(/about one incident, not a, b/);
  });
});
