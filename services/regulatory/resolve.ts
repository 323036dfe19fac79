import { regimesById } from './catalogue.js';
import type { Regime, RegulatoryClock } from './regime.js';

export interface RegimeOverride extends Partial<Omit<Regime, 'id' | 'clocks'>> {
  clocks?: (Partial<RegulatoryClock> & { id: string })[] | undefined;
}

/** The regimes a runbook can name: the built-in catalogue plus its own custom ones. */
export function availableRegimes(customRegimes: Regime[]): Map<string, Regime> {
  return new Map([...regimesById, ...customRegimes.map((regime) => [regime.id, regime] as const)]);
}

/**
 * A regime with a runbook's override applied: top-level fields replace the catalogue's, clocks are
 * matched by id and their fields replaced. Unknown clock ids are the cross-check's to report.
 */
export function applyRegimeOverride(regime: Regime, override: RegimeOverride | undefined): Regime {
  if (!override) return regime;
  const { clocks: clockOverrides, ...fields } = override;
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  const clocks = regime.clocks.map((clock) => {
    const change = clockOverrides?.find((c) => c.id === clock.id);
    if (!change) return clock;
    const definedChange = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
    return { ...clock, ...definedChange };
  });
  return { ...regime, ...defined, clocks };
}
