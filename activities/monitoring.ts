import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import type { MonitorPlan } from '../services/monitoring/matching.js';
import { planMonitor } from '../services/monitoring/plan.js';
import { linkSignals, suppressSignal } from '../services/monitoring/repository.js';
import { findRunbookVersion } from '../services/runbook/repository.js';

export interface MonitoringActivityDependencies {
  db: Kysely<Database>;
}

export function createMonitoringActivities({ db }: MonitoringActivityDependencies) {
  return {
    /** The monitor's rules from a runbook version (immutable, so replay-safe). */
    async prepareMonitor(runbookVersion: string): Promise<MonitorPlan> {
      const runbook = await findRunbookVersion(db, runbookVersion);
      if (!runbook) throw new Error(`runbook version ${runbookVersion} is not recorded in the database`);
      return planMonitor(runbook, runbookVersion);
    },
    async linkSignals(signalIds: string[], incidentId: string): Promise<void> {
      await linkSignals(db, signalIds, incidentId);
    },
    async suppressSignal(s: { signalId: string; silenceId: string; owner: string; reason: string; incidentId: string | undefined }): Promise<void> {
      await suppressSignal(db, s);
    },
  };
}
