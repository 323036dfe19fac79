import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatDuration, parseDuration } from '../../services/duration.js';
import { addOffset, parseClockOffset } from '../../services/regulatory/calendar.js';
import { regimeCatalogue, regimesById } from '../../services/regulatory/catalogue.js';
import { applyRegimeOverride } from '../../services/regulatory/resolve.js';
import { effectiveRegimes } from '../../services/runbook/effective.js';
import { runbookJsonSchema } from '../../services/runbook/json-schema.js';
import { loadRunbookFile, parseRunbook, runbookVersion } from '../../services/runbook/load.js';
import { projectRoot } from '../support/environment.js';

describe('durations', () => {
  it('parses the forms runbooks use', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('5 days')).toBeUndefined();
    expect(parseDuration('m')).toBeUndefined();
    expect(formatDuration(5_400_000)).toBe('1h30m');
  });

  it('parses regulator deadlines as calendar hours, days, months or business days', () => {
    expect(parseClockOffset('72h')).toEqual({ amount: 72, unit: 'hours' });
    expect(parseClockOffset('15d')).toEqual({ amount: 15, unit: 'days' });
    expect(parseClockOffset('1 month')).toEqual({ amount: 1, unit: 'months' });
    expect(parseClockOffset('4 business days')).toEqual({ amount: 4, unit: 'businessDays' });
    expect(parseClockOffset('0d')).toBeUndefined();
    expect(parseClockOffset('soon')).toBeUndefined();
  });
});

describe('deadline arithmetic', () => {
  const at = (iso: string) => new Date(iso);
  it('counts N days as N x 24 h and hours as hours', () => {
    expect(addOffset(at('2026-03-28T12:00:00Z'), { amount: 2, unit: 'days' }).toISOString()).toBe('2026-03-30T12:00:00.000Z');
    expect(addOffset(at('2026-11-22T23:00:00Z'), { amount: 72, unit: 'hours' }).toISOString()).toBe('2026-11-25T23:00:00.000Z');
  });

  it('skips weekends for business days, keeping the time of day', () => {
    // Thursday + 4 business days = the following Wednesday (Fri, Mon, Tue, Wed).
    expect(addOffset(at('2026-11-26T10:00:00Z'), { amount: 4, unit: 'businessDays' }).toISOString()).toBe('2026-12-02T10:00:00.000Z');
    // From a Saturday, the first business day is Monday.
    expect(addOffset(at('2026-11-28T09:00:00Z'), { amount: 1, unit: 'businessDays' }).toISOString()).toBe('2026-11-30T09:00:00.000Z');
  });

  it('adds calendar months, clamping to the end of a shorter month', () => {
    expect(addOffset(at('2026-01-31T08:00:00Z'), { amount: 1, unit: 'months' }).toISOString()).toBe('2026-02-28T08:00:00.000Z');
    expect(addOffset(at('2028-01-31T08:00:00Z'), { amount: 1, unit: 'months' }).toISOString()).toBe('2028-02-29T08:00:00.000Z');
    expect(addOffset(at('2026-12-15T08:00:00Z'), { amount: 1, unit: 'months' }).toISOString()).toBe('2027-01-15T08:00:00.000Z');
  });
});

describe('regime catalogue', () => {
  it('encodes the deadlines guides most often get wrong', () => {
    const art73 = regimesById.get('eu-ai-act-art73')!.clocks[0]!;
    expect(art73.deadline).toBe('15d');
    expect(art73.sooner).toEqual([
      { classes: ['critical-infrastructure', 'widespread-infringement'], deadline: '2d' },
      { classes: ['death'], deadline: '10d' },
    ]);
    const nis2Final = regimesById.get('nis2-art23')!.clocks.find((c) => c.id === 'final')!;
    expect(nis2Final).toMatchObject({ start: 'submitted:notification', deadline: '1 month' });
    const dora = regimesById.get('dora-art19')!.clocks;
    expect(dora.find((c) => c.id === 'initial')).toMatchObject({ start: 'classification', deadline: '4h', latest: { start: 'awareness', deadline: '24h' } });
    expect(dora.find((c) => c.id === 'intermediate')?.start).toBe('submitted:initial');
    expect(dora.find((c) => c.id === 'final')?.start).toBe('submitted:intermediate');
    expect(regimesById.get('us-sec-8k')!.clocks[0]!.deadline).toBe('4 business days');
    expect(new Set(regimeCatalogue.map((r) => r.id)).size).toBe(regimeCatalogue.length);
  });

  it('applies a runbook override field by field and clock by clock', () => {
    const dora = regimesById.get('dora-art19')!;
    const changed = applyRegimeOverride(dora, { recipient: 'De Nederlandsche Bank', clocks: [{ id: 'initial', deadline: '2h' }] });
    expect(changed.recipient).toBe('De Nederlandsche Bank');
    expect(changed.clocks.find((c) => c.id === 'initial')).toMatchObject({ deadline: '2h', start: 'classification', report: 'initial' });
    expect(changed.clocks.find((c) => c.id === 'final')).toEqual(dora.clocks.find((c) => c.id === 'final'));
    expect(dora.clocks.find((c) => c.id === 'initial')?.deadline).toBe('4h');
  });
});

describe('runbook loading', () => {
  const file = 'runbooks/frontier-assistant.yaml';
  const text = readFileSync(path.join(projectRoot, file), 'utf8');

  it('fills defaults and resolves the regimes it notifies under', async () => {
    const result = await loadRunbookFile(path.join(projectRoot, file));
    if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
    const { runbook } = result.loaded;
    expect(runbook.decisionAuthority.rate_limit?.quorum).toBe(1);
    expect(runbook.decisionAuthority.user_restriction?.breakGlass).toEqual({ allowed: false });
    expect(effectiveRegimes(runbook).map((r) => r.id)).toEqual(['eu-gpai-code-c9', 'us-ca-sb53', 'us-ny-raise', 'gdpr-art33']);
  });

  it('versions by content: comments and layout do not change the version, any value does', () => {
    const base = parseRunbook(text, file);
    const reformatted = parseRunbook(`# a new comment\n${text.replace('ackTimeout: 5m', 'ackTimeout:    5m   # tighter?')}`, file);
    const changed = parseRunbook(text.replace('ackTimeout: 5m', 'ackTimeout: 6m'), file);
    if (!base.ok || !reformatted.ok || !changed.ok) throw new Error('runbook should parse');
    expect(base.loaded.version).toBe(runbookVersion(parse(text)));
    expect(reformatted.loaded.version).toBe(base.loaded.version);
    expect(changed.loaded.version).not.toBe(base.loaded.version);
  });

  it('lists every schema problem in a file, not only the first', () => {
    const broken = text
      .replace('ackTimeout: 5m', 'ackTimeout: soon')
      .replace('repeat: 2', 'repeat: lots')
      .replace('riskCategory: gpai-systemic-risk', 'riskCategory: huge');
    const result = parseRunbook(broken, file);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.path).sort()).toEqual(['escalation.levels.0.ackTimeout', 'escalation.repeat', 'system.riskCategory']);
  });
});

describe('runbook JSON Schema', () => {
  it('is generated from the zod schema, and the shipped copy is up to date', () => {
    const shipped = JSON.parse(readFileSync(path.join(projectRoot, 'runbooks', 'runbook.schema.json'), 'utf8'));
    expect(shipped).toEqual(runbookJsonSchema());
    expect(shipped.required).toEqual(
      expect.arrayContaining(['system', 'severities', 'roles', 'people', 'escalation', 'decisionAuthority', 'notifications', 'postIncident']),
    );
    expect([...shipped.properties.decisionAuthority.propertyNames.enum].sort()).toEqual([
      'capability_restriction',
      'rate_limit',
      'rollback',
      'shutdown',
      'use_case_restriction',
      'user_restriction',
    ]);
  });

  it('is what `correx runbook schema` prints', () => {
    const result = spawnSync(process.execPath, ['bin/correx.js', 'runbook', 'schema'], { cwd: projectRoot, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(runbookJsonSchema());
  });

  it('is referenced by every shipped runbook for editors', () => {
    const shipped = readdirSync(path.join(projectRoot, 'runbooks')).filter((name) => name.endsWith('.yaml'));
    expect(shipped.length).toBeGreaterThanOrEqual(1);
    for (const name of shipped) {
      expect(readFileSync(path.join(projectRoot, 'runbooks', name), 'utf8').split('\n')[0], name).toBe('# yaml-language-server: $schema=./runbook.schema.json');
    }
  });
});
