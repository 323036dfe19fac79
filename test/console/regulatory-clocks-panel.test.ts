import { describe, expect, it } from 'vitest';
import { consoleSession } from '../support/console.js';
import { openClassifiedIncident } from '../support/api.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

/**
 * What compliance reads on an incident page about its clocks: each deadline with the moment it runs
 * from (awareness set earlier by a person, and why), and a report made on a portal as such, with the
 * evidence. Through the real API, worker and console.
 */
describe('console: what each regulator clock runs from', () => {
  const stack = useIncidentStack({ api: true, runbookFiles: ['clinical-triage'] });

  it('shows awareness set earlier, what each clock runs from, and a report declared made elsewhere', async () => {
    const ingrid = await stack.api.token('ingrid-schouten', ['responder']);
    const eline = await stack.api.token('eline-bos', ['compliance']);
    const awareSince = new Date(Date.now() - 6 * 3_600_000).toISOString();
    const reason = 'the ward sister phoned the on-call engineer at the start of the night shift';
    const id = await openClassifiedIncident(
      stack.api,
      ingrid,
      { systemId: 'clinical-triage', title: 'Chest pain routed to the non-urgent queue', severity: 'SEV1', awareSince: { at: awareSince, reason } },
      { classes: ['significant-incident'], reason: 'ransomware on the triage integration' },
    );
    const notification = await eventually(async () => {
      const reports = await stack.api.call('GET', `/v1/incidents/${id}/reports`, { token: eline });
      return (reports.body.items as { id: string; clockId: string }[] | undefined)?.find((r) => r.clockId === 'notification');
    });

    const madeAt = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, '.000Z');
    const declared = await stack.api.call('POST', `/v1/reports/${notification.id}/declare-submitted`, {
      token: eline,
      body: { submittedAt: madeAt, evidence: 'Z-CERT portal reference ZC-2026-1182' },
    });
    expect(declared.status, JSON.stringify(declared.body)).toBe(200);
    // A responder may not declare it: compliance's word.
    const refused = await stack.api.call('POST', `/v1/reports/${notification.id}/declare-submitted`, {
      token: ingrid,
      body: { submittedAt: madeAt, evidence: 'x' },
    });
    expect(refused.status).toBe(403);

    const cookie = await consoleSession(stack.api, eline);
    const html = await eventually(async () => {
      const page = await (await fetch(`${stack.api.url}/console/incidents/${id}`, { headers: { cookie } })).text();
      return page.includes('made outside Correx') && page.includes('runs from the submission') ? page : undefined;
    });
    const text = html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(text).toContain(`Aware since`);
    expect(text).toContain(`set by Ingrid Schouten: ${reason}`);
    expect(text).toContain(`runs from awareness, set by ingrid-schouten: ${reason}`);
    expect(text).toContain('declared by Eline Bos: Z-CERT portal reference ZC-2026-1182');
    expect(text).toContain('runs from the submission of the intermediate report (notification), made outside Correx, declared by eline-bos');
  }, 90_000);
});
