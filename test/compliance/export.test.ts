import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { CSV_ALERT_KIND, CSV_COLUMNS } from '../../services/export/schema.js';
import { verifyExport, type Verification } from '../../services/export/verify.js';
import { jsonb } from '../../services/db/jsonb.js';
import { GENESIS_HASH, timelineEventHash } from '../../services/timeline/chain.js';
import { testSigningKey } from '../support/api.js';
import { launchChromium } from '../support/browser.js';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { useIncidentStack } from '../support/stack.js';

const run = promisify(execFile);

async function verifyText(text: string, publicKeyPem?: string): Promise<Verification> {
  async function* lines() {
    yield* text.split('\n');
  }
  return verifyExport(lines(), publicKeyPem ? { publicKeyPem } : {});
}

describe('compliance: verifiable exports, printable report and regulator mappings of a scripted incident', () => {
  const stack = useIncidentStack({
    api: true,
    // The shipped runbook, but one Alertmanager alert is enough for the monitor to open an incident.
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          delete (runbook.triggers as { id: string; threshold?: unknown }[]).find((t) => t.id === 'jailbreak-rate')!.threshold;
        },
      },
    },
  });
  let incidentId: string;
  let compliance: string;
  let exported: string;

  beforeAll(async () => {
    compliance = await stack.api.token('hannah-vogel', ['compliance']);
    const responder = await stack.api.token('amara-okafor', ['responder']);
    const approver = await stack.api.token('sofia-marquez', ['approver']);

    const opened = await stack.api.call('POST', '/v1/incidents', {
      token: responder,
      body: {
        systemId: 'frontier-assistant',
        title: 'Assistant gives dosing advice that harms a user',
        severity: 'SEV2',
        summary: 'Reported by a clinician, reproduced on the live model',
      },
    });
    incidentId = opened.body.incidentId;
    await eventually(async () => ((await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: responder })).status === 200 ? true : undefined));
    const acknowledged = await stack.api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: responder });
    expect(acknowledged.status, JSON.stringify(acknowledged.body)).toBe(200);
    expect(
      (
        await stack.api.call('POST', `/v1/incidents/${incidentId}/classify`, {
          token: responder,
          body: { classes: ['serious-harm-to-health'], reason: 'A user was harmed' },
        })
      ).status,
    ).toBe(200);
    const proposed = await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, {
      token: responder,
      body: {
        kind: 'rate_limit',
        scope: { tiers: ['free'] },
        parameters: { requestsPerMinute: 10, per: 'user' },
        reason: 'Slow the harmful prompts while the fix ships',
      },
    });
    expect(proposed.status).toBe(201);
    const decided = await stack.api.call('POST', `/v1/corrections/${proposed.body.correctionId}/decision`, {
      token: approver,
      body: { decision: 'approve', rationale: 'Contained, reversible, and the harm is ongoing' },
    });
    expect(decided.status).toBe(200);
    await eventually(
      async () =>
        (await stack.api.call('GET', `/v1/corrections/${proposed.body.correctionId}`, { token: compliance })).body.state === 'active' ? true : undefined,
      30_000,
    );

    const response = await stack.api.call('GET', `/v1/exports?incidentId=${incidentId}`, { token: compliance });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/attachment; filename="correx-export-.*\.json"/);
    exported = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  }, 90_000);

  it('exports a JSON document that verifies, against the published key, and records who exported it', async () => {
    const raw = await fetch(`${stack.api.url}/v1/exports?incidentId=${incidentId}`, { headers: { authorization: `Bearer ${compliance}` } });
    exported = await raw.text();
    const document = JSON.parse(exported) as { incidents: { events: { kind: string; actor: string }[] }[]; manifest: { keyId: string } };
    const kinds = document.incidents[0]!.events.map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['incident.opened', 'incident.acknowledged', 'incident.classified', 'correction.approval_given', 'timeline.exported']),
    );
    expect(document.incidents[0]!.events.filter((e) => e.kind === 'timeline.exported').map((e) => e.actor)).toEqual(['hannah-vogel', 'hannah-vogel']);

    const published = (await stack.api.call('GET', '/.well-known/correx-signing-key')).body as { keyId: string; publicKey: string };
    expect(published.keyId).toBe(document.manifest.keyId);
    const verification = await verifyText(exported, published.publicKey);
    expect(verification).toMatchObject({ ok: true, incidents: 1, keyPinned: true, problems: [] });
    expect(verification.events).toBe(kinds.length);
  });

  it('names the event whose byte was changed, for every byte of every event line', async () => {
    const lines = exported.split('\n');
    const isEvent = (line: string) => {
      try {
        return 'seq' in (JSON.parse(line.replace(/,$/, '')) as object);
      } catch {
        return false;
      }
    };
    const eventLines = lines.map((line, index) => ({ line, index })).filter(({ line }) => isEvent(line));
    expect(eventLines.length).toBeGreaterThan(8);
    const misnamed: string[] = [];
    for (const { line, index } of eventLines) {
      const seq = (JSON.parse(line.replace(/,$/, '')) as { seq: number }).seq;
      for (let at = 0; at < line.length; at++) {
        const changed = [...lines];
        changed[index] = line.slice(0, at) + (line[at] === 'x' ? 'y' : 'x') + line.slice(at + 1);
        const result = await verifyText(changed.join('\n'), testSigningKey.publicKeyPem);
        if (result.ok || result.broken?.seq !== seq)
          misnamed.push(`seq ${seq}, byte ${at} (${line[at]}): ${result.ok ? 'verified' : `named ${result.broken?.seq}`}`);
      }
    }
    expect(misnamed).toEqual([]);
    // An event taken out is named too, and so is a manifest signed by another key.
    const without = exported
      .split('\n')
      .filter((_, index) => index !== eventLines[3]!.index)
      .join('\n');
    expect((await verifyText(without)).broken?.seq).toBe(4);
    const tamperedManifest = exported.replace(/"exportedBy":"hannah-vogel"(?=.*"signature")/, '"exportedBy":"mallory"');
    expect((await verifyText(tamperedManifest)).problems).toContain('the manifest signature does not verify');
  }, 120_000);

  it('verifies offline with `correx audit verify`, and fails naming the event', async () => {
    const dir = path.join(projectRoot, 'test-results');
    await mkdir(dir, { recursive: true });
    const good = path.join(dir, 'export-good.json');
    const bad = path.join(dir, 'export-bad.json');
    const keyFile = path.join(dir, 'signing-key.pub.pem');
    await writeFile(good, exported);
    await writeFile(bad, exported.replace('"kind":"incident.acknowledged"', '"kind":"incident.acknowledgeD"'));
    await writeFile(keyFile, testSigningKey.publicKeyPem);
    const ok = await run(process.execPath, ['bin/correx.js', 'audit', 'verify', good, '--public-key', keyFile], { cwd: projectRoot });
    expect(ok.stdout).toMatch(/verified: 1 incident, \d+ events, signed by key [0-9a-f]{16}/);
    // The published key document, saved exactly as downloaded, pins the key as well as its PEM does.
    const downloaded = path.join(dir, 'correx-signing-key.json');
    await writeFile(downloaded, await (await fetch(`${stack.api.url}/.well-known/correx-signing-key`)).text());
    const pinned = await run(process.execPath, ['bin/correx.js', 'audit', 'verify', good, '--public-key', downloaded], { cwd: projectRoot });
    expect(pinned.stdout).toMatch(/verified: 1 incident, \d+ events, signed by key [0-9a-f]{16}\n/);
    const failed = await run(process.execPath, ['bin/correx.js', 'audit', 'verify', bad], { cwd: projectRoot }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    const acknowledged = (JSON.parse(exported) as { incidents: { events: { seq: number; kind: string }[] }[] }).incidents[0]!.events.find(
      (e) => e.kind === 'incident.acknowledged',
    )!;
    expect(failed?.stdout + failed!.stderr).toMatch(new RegExp(`event ${acknowledged.seq} of incident ${incidentId}`));
  }, 60_000);

  it('refuses changes to the timeline in PostgreSQL, and a forced change is caught by verifying a fresh export', async () => {
    await expect(sql`update timeline_events set actor = 'mallory' where incident_id = ${incidentId} and seq = 2`.execute(stack.db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from timeline_events where incident_id = ${incidentId} and seq = 2`.execute(stack.db)).rejects.toThrow(/append-only/);

    await stack.db.transaction().execute(async (trx) => {
      await sql`alter table timeline_events disable trigger timeline_events_append_only`.execute(trx);
      await sql`update timeline_events set actor = 'mallory' where incident_id = ${incidentId} and seq = 2`.execute(trx);
      await sql`alter table timeline_events enable trigger timeline_events_append_only`.execute(trx);
    });
    const fresh = await fetch(`${stack.api.url}/v1/exports?incidentId=${incidentId}`, { headers: { authorization: `Bearer ${compliance}` } });
    const result = await verifyText(await fresh.text(), testSigningKey.publicKeyPem);
    expect(result.ok).toBe(false);
    expect(result.broken).toMatchObject({ incidentId, seq: 2, reason: 'its content does not match its hash' });
  });

  it('exports CSV that a standard parser reads into the same events as the JSON', async () => {
    const response = await fetch(`${stack.api.url}/v1/exports?incidentId=${incidentId}&format=csv`, { headers: { authorization: `Bearer ${compliance}` } });
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await response.text();
    expect(text.split('\r\n')[0]).toBe(CSV_COLUMNS.join(','));
    const rows = parseCsv(text, { columns: true }) as Record<string, string>[];
    const json = await (await fetch(`${stack.api.url}/v1/exports?incidentId=${incidentId}`, { headers: { authorization: `Bearer ${compliance}` } })).json();
    const events = (
      json as { incidents: { events: { seq: number; kind: string; actor: string; occurredAt: string; data: unknown; prevHash: string; hash: string }[] }[] }
    ).incidents[0]!.events;
    // The JSON export was made after the CSV one: the CSV's events are its first ones.
    expect(rows.length).toBeGreaterThan(10);
    expect(events.length).toBeGreaterThan(rows.length);
    rows.forEach((row, index) => {
      const e = events[index]!;
      expect({ ...row, data: JSON.parse(row.data!) }).toEqual({
        incident_id: incidentId,
        seq: String(e.seq),
        occurred_at: e.occurredAt,
        kind: e.kind,
        actor: e.actor,
        data: e.data,
        prev_hash: e.prevHash,
        hash: e.hash,
      });
    });
  });

  it('renders the printable report in Chromium, with the decision log, as PDF pages and screenshots', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ extraHTTPHeaders: { authorization: `Bearer ${compliance}` } });
      const response = await page.goto(`${stack.api.url}/v1/incidents/${incidentId}/report`);
      expect(response?.status()).toBe(200);
      const decisionLog = page.locator('section', { has: page.locator('h2', { hasText: 'Decision log' }) });
      await expect(decisionLog.locator('tbody tr').count()).resolves.toBe(1);
      const row = await decisionLog.locator('tbody tr').first().innerText();
      expect(row).toContain('Sofía Márquez (sofia-marquez)');
      expect(row).toContain('Contained, reversible, and the harm is ongoing');
      expect(row).toContain('1 of safety-engineering-manager; on timeout any one of head-of-safety');
      const dir = path.join(projectRoot, 'test-results');
      await page.screenshot({ path: path.join(dir, 'incident-report.png'), fullPage: true });
      const pdf = await page.pdf({ format: 'A4' });
      await writeFile(path.join(dir, 'incident-report.pdf'), pdf);
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      expect(pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
      // Nothing wider than the page: the report prints without cut-off columns.
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(overflow as number).toBeLessThanOrEqual(0);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('exports the alerts of an incident an Alertmanager alert opened: in the signed JSON, the CSV and the printable report', async () => {
    const ingest = await stack.api.token('alertmanager', ['ingest']);
    const summary = 'Jailbreak success rate 3.4% on the live classifier (eu)';
    const alert = {
      status: 'firing',
      labels: { alertname: 'JailbreakRateHigh', system: 'frontier-assistant', severity: 'critical', region: 'eu' },
      annotations: { summary },
      startsAt: new Date().toISOString(),
      fingerprint: '5e1f0c2a9d3b7e41',
    };
    const sent = await stack.api.call('POST', '/v1/ingest/alertmanager', {
      token: ingest,
      body: {
        version: '4',
        status: 'firing',
        receiver: 'correx',
        groupKey: '{}:{alertname="JailbreakRateHigh"}',
        groupLabels: { alertname: 'JailbreakRateHigh' },
        commonLabels: alert.labels,
        commonAnnotations: alert.annotations,
        externalURL: 'http://alertmanager.test',
        alerts: [alert],
      },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    const opened = await eventually(() =>
      stack.db.selectFrom('incidents').select('id').where('opened_by', '=', 'system:monitor').where('system_id', '=', 'frontier-assistant').executeTakeFirst(),
    );
    const alerts = await eventually(async () => {
      const answer = await stack.api.call('GET', `/v1/incidents/${opened.id}/alerts`, { token: compliance });
      return answer.status === 200 && (answer.body.items as unknown[]).length === 1 ? (answer.body.items as Record<string, unknown>[]) : undefined;
    });
    expect(alerts[0]).toMatchObject({ alertKey: alert.fingerprint, source: 'alertmanager', status: 'firing', summary, labels: { region: 'eu' } });

    // The JSON export holds the alert as the API shows it, and verifies against the published key.
    const text = await (await fetch(`${stack.api.url}/v1/exports?incidentId=${opened.id}`, { headers: { authorization: `Bearer ${compliance}` } })).text();
    const document = JSON.parse(text) as { incidents: { incident: { id: string }; alerts: unknown[] }[]; manifest: { incidents: { alertsHash?: string }[] } };
    expect(document.incidents[0]!.incident.id).toBe(opened.id);
    expect(document.incidents[0]!.alerts).toEqual(alerts);
    expect(document.manifest.incidents[0]!.alertsHash).toMatch(/^[0-9a-f]{64}$/);
    const published = (await stack.api.call('GET', '/.well-known/correx-signing-key')).body as { publicKey: string };
    expect(await verifyText(text, published.publicKey)).toMatchObject({ ok: true, incidents: 1, keyPinned: true, problems: [] });
    // The signature covers the alerts: a changed one, or one taken out of the manifest's hash, is caught.
    const altered = text.replace(`"summary":${JSON.stringify(summary)}`, `"summary":${JSON.stringify('Nothing to see')}`);
    expect(altered).not.toBe(text);
    expect((await verifyText(altered, published.publicKey)).problems).toEqual([`the alerts of incident ${opened.id} were altered`]);
    const dropped = text.replace(/"alerts":\[.*?\],"events":\[/, '"alerts":[],"events":[');
    expect(dropped).not.toBe(text);
    expect((await verifyText(dropped, published.publicKey)).problems).toEqual([`the alerts of incident ${opened.id} were altered`]);

    // `correx audit verify` verifies the export with its alerts, and fails on the altered one.
    const dir = path.join(projectRoot, 'test-results');
    await mkdir(dir, { recursive: true });
    const good = path.join(dir, 'export-alerts-good.json');
    const bad = path.join(dir, 'export-alerts-bad.json');
    await writeFile(good, text);
    await writeFile(bad, altered);
    const ok = await run(process.execPath, ['bin/correx.js', 'audit', 'verify', good], { cwd: projectRoot });
    expect(ok.stdout).toMatch(/verified: 1 incident, \d+ events, signed by key [0-9a-f]{16}/);
    const failed = await run(process.execPath, ['bin/correx.js', 'audit', 'verify', bad], { cwd: projectRoot }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed!.stdout + failed!.stderr).toContain(`the alerts of incident ${opened.id} were altered`);

    // The CSV has the alert after the incident's events, outside the chain.
    const csv = await (
      await fetch(`${stack.api.url}/v1/exports?incidentId=${opened.id}&format=csv`, { headers: { authorization: `Bearer ${compliance}` } })
    ).text();
    const rows = parseCsv(csv, { columns: true }) as Record<string, string>[];
    expect(rows.at(-1)).toMatchObject({ incident_id: opened.id, seq: '', kind: CSV_ALERT_KIND, actor: 'alertmanager', prev_hash: '', hash: '' });
    expect(JSON.parse(rows.at(-1)!.data!)).toEqual(alerts[0]);
    expect(rows.filter((r) => r.kind === CSV_ALERT_KIND)).toHaveLength(1);

    // The printable report lists it, in Chromium.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ extraHTTPHeaders: { authorization: `Bearer ${compliance}` } });
      const response = await page.goto(`${stack.api.url}/v1/incidents/${opened.id}/report`);
      expect(response?.status()).toBe(200);
      const section = page.locator('section', { has: page.locator('h2', { hasText: 'Alerts' }) });
      await expect(section.locator('tbody tr').count()).resolves.toBe(1);
      const row = await section.locator('tbody tr').first().innerText();
      expect(row).toContain(summary);
      expect(row).toContain('alertmanager');
      expect(row).toContain('firing');
      expect(row).toContain('alertname=JailbreakRateHigh');
      expect(row).toContain('region=eu');
      await page.screenshot({ path: path.join(dir, 'incident-report-alerts.png'), fullPage: true });
      const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(overflow as number).toBeLessThanOrEqual(0);
    } finally {
      await browser.close();
    }
  }, 90_000);

  it('maps the incident to the EU AI Act, GPAI Code, OECD and AIID fields, explaining each missing mandatory one', async () => {
    const response = await stack.api.call('GET', `/v1/incidents/${incidentId}/regulator-mappings`, { token: compliance });
    expect(response.status).toBe(200);
    const items = response.body.items as {
      schema: string;
      fields: Record<string, string | null>;
      mandatory: string[];
      missing: { field: string; why: string }[];
    }[];
    expect(items.map((m) => m.schema)).toEqual([
      'eu-ai-act-art73-serious-incident',
      'gpai-code-of-practice-c9',
      'oecd-common-reporting-framework',
      'ai-incident-database',
    ]);
    for (const mapping of items) {
      for (const field of mapping.mandatory) {
        const missing = mapping.missing.find((m) => m.field === field);
        if (mapping.fields[field]) expect(missing, `${mapping.schema}.${field}`).toBeUndefined();
        else expect(missing?.why, `${mapping.schema}.${field}`).toMatch(/^.{20,}$/);
      }
    }
    const eu = items[0]!;
    expect(eu.fields['incident class']).toBe('serious-harm-to-health');
    expect(eu.fields['AI system identity and versions']).toMatch(/Meridian Assistant API \(frontier-assistant\); model meridian-4/);
    expect(eu.fields['remedial actions']).toMatch(/^rate_limit/);
    expect(eu.missing.map((m) => m.field)).toContain('root-cause analysis');
    const oecd = items[2]!;
    expect(oecd.missing).toEqual([]);
  });

  it('streams a 100,000-event export with peak memory that does not grow with the number of events', async () => {
    const makeIncident = async (events: number) => {
      const id = crypto.randomUUID();
      await stack.db
        .insertInto('incidents')
        .values({
          id,
          workflow_id: `bulk:${id}`,
          system_id: 'frontier-assistant',
          dedup_key: id,
          title: `bulk ${events}`,
          severity: 'SEV4',
          state: 'closed',
          classification: jsonb<string[]>([]),
          opened_by: 'test',
          opened_at: new Date(),
        })
        .execute();
      let prevHash = GENESIS_HASH;
      for (let start = 1; start <= events; start += 2000) {
        const rows = [];
        for (let seq = start; seq < Math.min(start + 2000, events + 1); seq++) {
          const event = {
            incidentId: id,
            seq,
            kind: 'load.sample',
            actor: 'system:test',
            occurredAt: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
            data: { n: seq, note: 'x'.repeat(200) },
            prevHash,
          };
          const hash = timelineEventHash(event);
          rows.push({
            incident_id: id,
            seq,
            kind: event.kind,
            actor: event.actor,
            occurred_at: event.occurredAt,
            data: jsonb(event.data),
            idempotency_key: `load:${seq}`,
            prev_hash: prevHash,
            hash,
          });
          prevHash = hash;
        }
        await stack.db.insertInto('timeline_events').values(rows).execute();
      }
      return id;
    };
    const measure = async (id: string) => {
      const { stdout } = await run(
        process.execPath,
        ['--max-old-space-size=96', '--import', 'tsx', 'test/support/export-child.ts', stack.database.location, id],
        { cwd: projectRoot, maxBuffer: 1024 * 1024 },
      );
      return JSON.parse(stdout) as { bytes: number; ms: number; maxRssKb: number };
    };
    const small = await measure(await makeIncident(20_000));
    const large = await measure(await makeIncident(100_000));
    expect(large.bytes).toBeGreaterThan(4.5 * small.bytes);
    // Five times the events (about 30 MB more output than fits in any buffer here) in the same memory.
    const growthMb = (large.maxRssKb - small.maxRssKb) / 1024;
    console.log(
      `export memory: 20k events ${Math.round(small.maxRssKb / 1024)} MB peak (${small.ms} ms), 100k events ${Math.round(large.maxRssKb / 1024)} MB peak (${large.ms} ms)`,
    );
    expect(growthMb).toBeLessThan(20);
  }, 300_000);
});
