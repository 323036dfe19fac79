import type { Regime } from '../regulatory/regime.js';
import { applyRegimeOverride, availableRegimes } from '../regulatory/resolve.js';
import type { LoadedRunbook } from './load.js';
import type { Runbook } from './schema.js';

/** The regimes a runbook notifies under, with its overrides applied to the built-in definitions. */
export function effectiveRegimes(runbook: Runbook): Regime[] {
  const regimes = availableRegimes(runbook.notifications.customRegimes);
  return runbook.notifications.regulators.flatMap((policy) => {
    const regime = regimes.get(policy.regime);
    return regime ? [applyRegimeOverride(regime, policy.override)] : [];
  });
}

/** What `correx runbook show` prints: the runbook after defaults, with its version and resolved regimes. */
export function effectiveRunbook(loaded: LoadedRunbook) {
  const { $schema: _editorHint, ...runbook } = loaded.runbook;
  return {
    version: loaded.version,
    file: loaded.file,
    ...runbook,
    effectiveRegimes: effectiveRegimes(loaded.runbook),
  };
}
