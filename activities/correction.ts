import { ApplicationFailure } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import {
  recordCorrectionProposed,
  recordCorrectionTransition,
  recordVote,
  type CorrectionTransition,
  type RecordedVote,
} from '../services/correction/repository.js';
import type { ProposedCorrection } from '../services/correction/schema.js';
import type { Database } from '../services/db/schema.js';
import { enforcerFor, type CorrectionToEnforce } from '../services/correction/enforcement.js';
import type { EnforcementPlan } from '../services/incident/plan.js';
import { createChannelSenders, type ChannelSenders } from '../services/channel/delivery.js';
import { pageCommander } from '../services/escalation/repository.js';
import type { Mailer } from '../services/notification/mailer.js';

export interface CorrectionActivityDependencies {
  db: Kysely<Database>;
  secret: (name: string) => string | undefined;
  /** For pages the built-in enforcer sends when a correction is not held everywhere in time. */
  mailer: Mailer;
  publicUrl: () => string;
  /** Those pages go through the commander's contacts, as escalation pages do (see activities/escalation.ts). */
  senders?: ChannelSenders;
}

export interface Enforcement {
  plan: EnforcementPlan;
  correction: CorrectionToEnforce;
}

export function createCorrectionActivities({ db, secret, mailer, publicUrl, senders }: CorrectionActivityDependencies) {
  const channels: ChannelSenders = { ...createChannelSenders({ secret }), ...senders };
  const enforcer = (plan: EnforcementPlan) =>
    enforcerFor(plan, {
      secret,
      db,
      pageCommander: (page) => pageCommander(db, mailer, publicUrl(), page, channels),
    });
  return {
    async recordCorrectionProposed(correction: ProposedCorrection): Promise<void> {
      await recordCorrectionProposed(db, correction);
    },
    async recordCorrectionTransition(transition: CorrectionTransition): Promise<void> {
      await recordCorrectionTransition(db, transition);
    },
    async recordVote(vote: RecordedVote): Promise<void> {
      await recordVote(db, vote);
    },
    /** Applies through the system's enforcer; the idempotency key is the correction id and action. */
    async applyCorrection({ plan, correction }: Enforcement): Promise<void> {
      await enforcer(plan).apply(correction);
    },
    async liftCorrection({ plan, correction }: Enforcement): Promise<void> {
      await enforcer(plan).lift(correction);
    },
    /** Reads the state back; fails (and so is retried) until it matches. */
    async verifyCorrection({ plan, correction, expected }: Enforcement & { expected: 'applied' | 'lifted' }): Promise<void> {
      if (!(await enforcer(plan).verify(correction, expected))) {
        throw ApplicationFailure.retryable(`correction ${correction.id} is not yet ${expected} on ${correction.systemId}`, 'NotYetVerified');
      }
    },
  };
}
