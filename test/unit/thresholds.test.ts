import { describe, expect, it } from 'vitest';
import { groupKey, type TriggerPlan } from '../../services/monitoring/matching.js';
import { planMonitor } from '../../services/monitoring/plan.js';
import {
  addToWindow,
  duePending,
  nextDue,
  pendingAfterFiring,
  pendingAfterResolve,
  receiptKey,
  receiptTime,
  repeatsCountFor,
  thresholdCount,
  thresholdMet,
  windowAlerts,
  windowSignalIds,
  type PendingGroup,
  type WindowEntry,
} from '../../services/monitoring/thresholds.js';
import { Runbook, thresholdCounts } from '../../services/runbook/schema.js';
import { shippedRunbook } from '../support/runbooks.js';

const MINUTE = 60_000;
const base = Date.parse('2026-11-20T10:00:00.000Z');
const at = (minutes: number) => new Date(base + minutes * MINUTE).toISOString();

/** The shipped frontier-assistant runbook with its triggers replaced. */
async function runbookWith(triggers: Record<string, unknown>[]): Promise<Runbook> {
  const content = await shippedRunbook('frontier-assistant');
  content.triggers = triggers;
  return Runbook.parse(content);
}
const trigger = (threshold?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'jailbreak-rate',
  description: 'Jailbreak success rate above threshold',
  match: { sources: ['alertmanager'], labels: { alertname: 'JailbreakRateHigh' } },
  ...(threshold ? { threshold } : {}),
  severity: 'SEV2',
  ...extra,
});

/** Receipts added one by one to an empty window, as the monitor does. */
function fill(receipts: WindowEntry[], rule: { count: number; windowMs: number; counts?: 'occurrences' | 'alerts' }): WindowEntry[] {
  return receipts.reduce<WindowEntry[]>((window, receipt) => addToWindow(window, receipt, rule), []);
}

describe('trigger thresholds in runbooks', () => {
  it('count occurrences unless told otherwise, and take `counts` and `for` from the vocabulary', async () => {
    expect(thresholdCounts).toEqual(['occurrences', 'alerts']);
    const runbook = await runbookWith([
      trigger({ count: 3, window: '10m' }),
      { ...trigger({ count: 2, window: '5m', counts: 'alerts' }, { for: '2m' }), id: 'distinct' },
      { ...trigger(), id: 'first-one' },
    ]);
    expect(runbook.triggers.map((t) => [t.threshold.counts, t.for])).toEqual([
      ['occurrences', undefined],
      ['alerts', '2m'],
      ['occurrences', undefined],
    ]);
    const plan = planMonitor(runbook, 'v1');
    expect(plan.triggers.map((t) => [t.count, t.windowMs, t.counts, t.forMs])).toEqual([
      [3, 10 * MINUTE, 'occurrences', undefined],
      [2, 5 * MINUTE, 'alerts', 2 * MINUTE],
      [1, MINUTE, 'occurrences', undefined],
    ]);
  });

  it('refuses a `counts` outside the vocabulary and a `for` that is no duration', async () => {
    await expect(runbookWith([trigger({ count: 3, window: '10m', counts: 'notifications' })])).rejects.toThrow(/occurrences|alerts/);
    await expect(runbookWith([trigger({ count: 3, window: '10m' }, { for: 'soon' })])).rejects.toThrow(/duration/);
    await expect(runbookWith([trigger({ count: 3, window: '10m' }, { for: '0s' })])).rejects.toThrow(/positive duration/);
  });
});

describe('repeatsCountFor: whether the monitor needs to hear of an alert repeating', () => {
  const jailbreak = { source: 'alertmanager', labels: { alertname: 'JailbreakRateHigh' }, severity: 'critical' };
  const other = { source: 'alertmanager', labels: { alertname: 'LatencyHigh' }, severity: 'critical' };
  const plan = (runbook: Runbook) => planMonitor(runbook, 'v1');

  it('is true for a signal a trigger counts occurrences of, and one does not open', async () => {
    expect(repeatsCountFor(plan(await runbookWith([trigger({ count: 3, window: '10m' })])), jailbreak)).toBe(true);
    expect(repeatsCountFor(plan(await runbookWith([trigger(), trigger({ count: 2, window: '1m', counts: 'occurrences' }, { id: 'second' })])), jailbreak)).toBe(
      true,
    );
  });

  it('is false when the matching triggers open at the first signal or count distinct alerts, or none matches', async () => {
    expect(repeatsCountFor(plan(await runbookWith([trigger()])), jailbreak)).toBe(false);
    expect(repeatsCountFor(plan(await runbookWith([trigger({ count: 1, window: '10m' }, { for: '5m' })])), jailbreak)).toBe(false);
    expect(repeatsCountFor(plan(await runbookWith([trigger({ count: 3, window: '10m', counts: 'alerts' })])), jailbreak)).toBe(false);
    expect(repeatsCountFor(plan(await runbookWith([trigger({ count: 3, window: '10m' })])), other)).toBe(false);
    expect(repeatsCountFor(plan(await runbookWith([])), jailbreak)).toBe(false);
  });

  it('holds for the shipped runbooks, which count three or two firing notifications', async () => {
    for (const system of ['frontier-assistant', 'credit-scoring', 'clinical-triage']) {
      const runbook = Runbook.parse(await shippedRunbook(system));
      const counted = runbook.triggers.find((t) => t.threshold.count > 1)!;
      const signal = { source: counted.match.sources?.[0] ?? 'native', labels: counted.match.labels ?? {}, severity: counted.match.signalSeverities?.[0] };
      expect(repeatsCountFor(plan(runbook), signal)).toBe(true);
    }
  });
});

describe('receipts', () => {
  it('are named by (signalId, occurrence): a first receipt by its signal alone, as before repeats were counted', () => {
    expect(receiptKey({ signalId: 's1' })).toBe('s1');
    expect(receiptKey({ signalId: 's1', occurrence: 1 })).toBe('s1');
    expect(receiptKey({ signalId: 's1', occurrence: 3 })).toBe('s1#3');
    expect(receiptKey({ signalId: 's1', occurrence: 3 })).not.toBe(receiptKey({ signalId: 's1', occurrence: 2 }));
  });

  it("count from the signal's time, or a repeat from when the monitor got it", () => {
    const now = base + 30 * MINUTE;
    expect(receiptTime({ at: at(0) }, now)).toBe(at(0));
    expect(receiptTime({ at: at(0), occurrence: 1 }, now)).toBe(at(0));
    // Alertmanager's repeat keeps the alert's startsAt; it counts from its arrival.
    expect(receiptTime({ at: at(0), occurrence: 2 }, now)).toBe(at(30));
    // A sender's clock ahead of the monitor's is not moved back.
    expect(receiptTime({ at: at(40), occurrence: 2 }, now)).toBe(at(40));
  });
});

describe('windows', () => {
  const occurrences = { count: 3, windowMs: 10 * MINUTE, counts: 'occurrences' as const };
  const alerts = { count: 3, windowMs: 10 * MINUTE, counts: 'alerts' as const };
  /** One persistent alert: its first notification and two repeats, a minute apart. */
  const persistent: WindowEntry[] = [
    { signalId: 's1', alertKey: 'fp-eu', at: at(0) },
    { signalId: 's1', alertKey: 'fp-eu', at: at(1), occurrence: 2 },
    { signalId: 's1', alertKey: 'fp-eu', at: at(2), occurrence: 3 },
  ];

  it('count every receipt of a persistent alert under occurrences, and meet 3 with its third notification', () => {
    expect(thresholdMet(fill(persistent.slice(0, 2), occurrences), occurrences)).toBe(false);
    const window = fill(persistent, occurrences);
    expect(thresholdCount(window, 'occurrences')).toBe(3);
    expect(thresholdMet(window, occurrences)).toBe(true);
    // The incident it opens names the signal once, and its one alert.
    expect(windowSignalIds(window)).toEqual(['s1']);
    expect(windowAlerts(window)).toEqual(['fp-eu']);
  });

  it('count the same receipt delivered twice once', () => {
    const twice = fill([persistent[0]!, persistent[1]!, persistent[1]!, persistent[0]!], occurrences);
    expect(thresholdCount(twice, 'occurrences')).toBe(2);
    expect(thresholdMet(twice, occurrences)).toBe(false);
  });

  it('count a persistent alert once under alerts, however often it repeats', () => {
    const window = fill([...persistent, { signalId: 's1', alertKey: 'fp-eu', at: at(3), occurrence: 4 }], alerts);
    expect(thresholdCount(window, 'alerts')).toBe(1);
    expect(thresholdMet(window, alerts)).toBe(false);
    // Only its latest receipt is kept: repeats do not pile up in the monitor's state.
    expect(window).toEqual([{ signalId: 's1', alertKey: 'fp-eu', at: at(3), occurrence: 4 }]);
  });

  it('count distinct alerts under alerts; a re-fire of one alert (a new signal, the same key) is still one alert', () => {
    const window = fill(
      [
        { signalId: 's1', alertKey: 'fp-eu', at: at(0) },
        { signalId: 's2', alertKey: 'fp-eu', at: at(1) },
        { signalId: 's3', alertKey: 'fp-us', at: at(2) },
        { signalId: 's4', at: at(3) }, // no key: an alert of its own
      ],
      alerts,
    );
    expect(thresholdCount(window, 'alerts')).toBe(3);
    expect(thresholdMet(window, alerts)).toBe(true);
    expect(windowAlerts(window)).toEqual(['fp-eu', 'fp-us', 's4']);
    expect(windowSignalIds(window)).toEqual(['s1', 's2', 's3', 's4']);
  });

  it('read a plan without `counts` (prepared before it existed) as counting occurrences', () => {
    const window = fill(persistent, { count: 3, windowMs: 10 * MINUTE });
    expect(thresholdMet(window, { count: 3, windowMs: 10 * MINUTE })).toBe(true);
  });

  it('slide: what lies more than the window before the latest receipt leaves it', () => {
    const spread = fill(
      [0, 7.5, 15, 22.5, 30].map((m, i) => ({ signalId: `s${i}`, at: at(m) })),
      occurrences,
    );
    expect(spread.map((e) => e.signalId)).toEqual(['s3', 's4']);
    expect(thresholdMet(spread, occurrences)).toBe(false);
  });

  it('keep a newer receipt when an older one arrives after it: two alerts of one notification share the window in either order', () => {
    // Alertmanager sends a group's alerts sorted by their labels: region=eu (started later) before region=us.
    const eu = { signalId: 'eu', alertKey: 'fp-eu', at: at(5) };
    const us = { signalId: 'us', alertKey: 'fp-us', at: at(1) };
    const rule = { count: 2, windowMs: 10 * MINUTE, counts: 'alerts' as const };
    for (const order of [
      [eu, us],
      [us, eu],
    ]) {
      const window = fill(order, rule);
      expect(window.map((e) => e.signalId)).toEqual(['us', 'eu']);
      expect(thresholdMet(window, rule)).toBe(true);
    }
    // Still, a receipt older than the window before the newest does not count.
    expect(fill([eu, { signalId: 'old', at: at(-6) }], rule).map((e) => e.signalId)).toEqual(['eu']);
  });

  it('are one per group: two alerts differing in a label outside groupBy share a key', () => {
    const plan: TriggerPlan = {
      id: 'jailbreak-rate',
      sources: ['alertmanager'],
      labels: undefined,
      signalSeverities: undefined,
      count: 2,
      windowMs: 10 * MINUTE,
      counts: 'alerts',
      groupBy: ['alertname'],
      severity: 'SEV2',
      onResolved: 'resolve',
      description: 'x',
    };
    const facts = (region: string) => ({ source: 'alertmanager', labels: { alertname: 'JailbreakRateHigh', region }, severity: 'critical' });
    expect(groupKey(plan, facts('eu'))).toBe(groupKey(plan, facts('us')));
    expect(groupKey(plan, facts('eu'))).toBe('jailbreak-rate|alertname=JailbreakRateHigh');
  });
});

describe('`for`: a met threshold waiting to see whether its group still fires', () => {
  const group: PendingGroup = {
    triggerId: 'jailbreak-rate',
    metAt: at(0),
    dueAt: at(5),
    title: 'Jailbreak',
    severity: 'SEV2',
    signalIds: ['eu'],
    firing: ['fp-eu'],
  };

  it('gathers the firing signals of its group meanwhile, each once', () => {
    const joined = pendingAfterFiring(pendingAfterFiring(group, { signalId: 'us', alertKey: 'fp-us' }), { signalId: 'us', alertKey: 'fp-us' });
    expect(joined).toMatchObject({ signalIds: ['eu', 'us'], firing: ['fp-eu', 'fp-us'] });
    // A repeat of an alert it has adds nothing.
    expect(pendingAfterFiring(group, { signalId: 'eu', alertKey: 'fp-eu' })).toEqual(group);
  });

  it('is cancelled once none of its alerts fires: by their resolves, or a resolve without a key', () => {
    const two = pendingAfterFiring(group, { signalId: 'us', alertKey: 'fp-us' });
    const one = pendingAfterResolve(two, 'fp-eu');
    expect(one).toMatchObject({ firing: ['fp-us'], dueAt: at(5) });
    expect(pendingAfterResolve(one!, 'fp-us')).toBeUndefined();
    expect(pendingAfterResolve(two, undefined)).toBeUndefined();
    // A resolve of an alert not in it changes nothing.
    expect(pendingAfterResolve(group, 'fp-other')).toEqual(group);
  });

  it('is due at metAt + for, soonest first', () => {
    const pending = { a: { ...group, dueAt: at(7) }, b: group, c: { ...group, dueAt: at(9) } };
    expect(nextDue(pending)).toBe(Date.parse(at(5)));
    expect(nextDue({})).toBeUndefined();
    expect(duePending(pending, Date.parse(at(4)))).toEqual([]);
    expect(duePending(pending, Date.parse(at(7)))).toEqual(['b', 'a']);
  });
});
