import { describe, expect, it } from 'vitest';
import type { CorrectionRow, IncidentRow } from '../../services/db/schema.js';
import { regimesById } from '../../services/regulatory/catalogue.js';
import type { Regime } from '../../services/regulatory/regime.js';
import {
  contentToSend,
  deriveReport,
  draftReportFields,
  incompleteAllowed,
  incompleteRefusal,
  LEGACY_PLACEHOLDER,
  mergeEdits,
  missingFields,
  reportFields,
  unknownEdits,
  type ReportContext,
} from '../../services/regulatory/report.js';
import type { AiSystem } from '../../services/runbook/schema.js';

const gdpr = regimesById.get('gdpr-art33')!;
const art73 = regimesById.get('eu-ai-act-art73')!;
const nis2 = regimesById.get('nis2-art23')!;

const openedAt = new Date('2026-12-02T09:00:00Z');
const incident = {
  id: '6d1c6f43-3f0e-4c4a-9a43-0d3c8a7f0c11',
  title: 'Chat logs readable across tenants',
  severity: 'SEV2',
  state: 'mitigating',
  classification: ['personal-data-breach'],
  opened_at: openedAt,
  acknowledged_at: new Date('2026-12-02T09:05:00Z'),
  mitigated_at: null,
  resolved_at: null,
} as unknown as IncidentRow;
const system = {
  id: 'frontier-assistant',
  name: 'Meridian Assistant API',
  model: { name: 'meridian-4', version: '4.2.0' },
  deployer: { name: 'Meridian AI' },
  valueChainRole: 'provider',
} as unknown as AiSystem;
const rateLimit = {
  kind: 'rate_limit',
  scope: { tiers: ['free'] },
  parameters: { requestsPerMinute: 10, per: 'user' },
  state: 'active',
  reason: 'Slow the scraping while the fix ships',
  proposed_at: new Date('2026-12-02T09:10:00Z'),
  applied_at: new Date('2026-12-02T09:12:00Z'),
  lifted_at: null,
} as unknown as CorrectionRow;

const context = (regime: Regime, corrections: CorrectionRow[] = [], clock = regime.clocks[0]!): ReportContext => ({
  incident,
  system,
  corrections,
  regime,
  clock,
  occurrence: 1,
  awarenessAt: openedAt.toISOString(),
  dueAt: '2026-12-05T09:00:00.000Z',
});

describe('a regulator report drafted from the incident', () => {
  it('fills what Correx knows and leaves the rest missing: no placeholder is stored as content', () => {
    const fields = draftReportFields(context(gdpr));
    expect(fields['nature of the breach']).toBe('Chat logs readable across tenants');
    expect(fields['measures taken']).toMatch(/none yet/);
    for (const missing of ['categories and numbers of people and records', 'DPO contact', 'likely consequences']) expect(fields).not.toHaveProperty([missing]);
    expect(Object.values(fields).join('\n')).not.toContain('to be completed');
    expect(fields).toMatchObject({ Regime: gdpr.name, Incident: incident.id, 'Due by': '2026-12-05T09:00:00.000Z' });
  });

  it('derives the corrections as they stand: one applied after drafting shows, and is marked changed since drafted', () => {
    const drafted = draftReportFields(context(gdpr));
    const now = deriveReport(context(gdpr, [rateLimit]));
    const fields = reportFields(gdpr.content, now.content, {}, drafted);
    const measures = fields.find((f) => f.name === 'measures taken')!;
    expect(measures).toMatchObject({ source: 'derived', changedSinceDrafted: true, drafted: expect.stringMatching(/none yet/) });
    // In words a regulator reads, without the proposer's internal reason.
    expect(measures.value).toBe(
      'Meridian Assistant API accepts at most 10 requests a minute per user from the tier free: in force since 2 December 2026, 09:12 UTC.',
    );
    expect(fields.find((f) => f.name === 'nature of the breach')).toMatchObject({ source: 'derived', changedSinceDrafted: false });
  });

  it("keeps compliance's edits over what is derived again, and reports the missing ones by name", () => {
    const now = deriveReport(context(gdpr, [rateLimit]));
    const edits = { 'measures taken': 'Free tier rate-limited; tenant isolation fixed', 'DPO contact': 'dpo@meridian.example' };
    const fields = reportFields(gdpr.content, now.content, edits, draftReportFields(context(gdpr)));
    expect(fields.find((f) => f.name === 'measures taken')).toMatchObject({
      value: 'Free tier rate-limited; tenant isolation fixed',
      source: 'edited',
      derived: expect.stringMatching(/^Meridian Assistant API accepts at most 10 requests/),
    });
    expect(fields.find((f) => f.name === 'DPO contact')).toMatchObject({ value: 'dpo@meridian.example', source: 'edited' });
    expect(missingFields(fields)).toEqual(['categories and numbers of people and records', 'likely consequences']);
  });

  it('reads the placeholder of drafts made before as missing', () => {
    const fields = reportFields(gdpr.content, {}, {}, { 'DPO contact': LEGACY_PLACEHOLDER });
    expect(fields.find((f) => f.name === 'DPO contact')).toMatchObject({ value: null, source: 'missing', drafted: null });
    expect(missingFields(fields)).toEqual(gdpr.content);
  });

  it('an empty edit goes back to what Correx derives', () => {
    expect(mergeEdits({ severity: 'high', description: 'x' }, { severity: '  ', 'root cause': 'y' })).toEqual({ description: 'x', 'root cause': 'y' });
  });
});

describe('edits', () => {
  it("name fields of the regime only: each other name is refused at its path, with the regime's fields", () => {
    const errors = unknownEdits(gdpr, { 'measures taken': 'ok', respnse: 'typo', 'dpo contact': 'x' }, 'body');
    expect(errors.map((e) => e.path)).toEqual(['body.edits.respnse', 'body.edits.dpo contact']);
    expect(errors[0]!.message).toContain("its fields are: 'nature of the breach', 'categories and numbers of people and records', 'DPO contact'");
    expect(errors[1]!.message).toContain("did you mean 'DPO contact'?");
    expect(unknownEdits(gdpr, { 'DPO contact': 'dpo@meridian.example' })).toEqual([]);
  });
});

describe('what is sent', () => {
  it('a complete report: the header, then every field in the regime order', () => {
    const now = deriveReport(context(nis2));
    const edits = { 'suspected malicious?': 'no', 'cross-border impact?': 'yes: NL and BE', 'root cause': 'tenant filter bypassed' };
    const fields = reportFields(nis2.content, now.content, edits, {});
    expect(missingFields(fields)).toEqual([]);
    const sent = contentToSend(now.header, fields, false);
    expect(Object.keys(sent)).toEqual([...Object.keys(now.header), ...nis2.content]);
  });

  it('an incomplete initial report under the EU AI Act says which fields will follow, and shows no empty ones', () => {
    expect(incompleteAllowed(art73, art73.clocks[0]!)).toBe(true);
    expect(incompleteAllowed(gdpr, gdpr.clocks[0]!)).toBe(false);
    const now = deriveReport(context(art73));
    const fields = reportFields(art73.content, now.content, {}, {});
    expect(missingFields(fields)).toEqual(['effects', 'users affected', 'root-cause analysis']);
    const sent = contentToSend(now.header, fields, true);
    expect(sent['Incomplete initial report']).toBe('effects, users affected and root-cause analysis will follow.');
    expect(sent).not.toHaveProperty(['effects']);
    expect(Object.values(sent).join('\n')).not.toContain('to be completed');
  });

  it('the refusal of an incomplete report names each empty field', () => {
    expect(incompleteRefusal('notification', gdpr.name, ['DPO contact', 'likely consequences'])).toBe(
      `the notification report to ${gdpr.name} is not complete: the required fields 'DPO contact' and 'likely consequences' are empty; fill them in, then approve`,
    );
  });
});
