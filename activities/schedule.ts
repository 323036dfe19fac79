import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import type { Person } from '../services/correction/authority.js';
import { kindInWords } from '../services/correction/wording.js';
import type { CorrectionKind } from '../services/correction/schema.js';
import type { CorrectionState } from '../services/correction/states.js';
import { listCorrections } from '../services/correction/repository.js';
import type { OnCallWhy } from '../services/escalation/on-call.js';
import { findIncident } from '../services/incident/repository.js';
import { findSchedule, nextHandOffOf, whoIsOnCall } from '../services/schedule/repository.js';

export interface ScheduleActivityDependencies {
  db: Kysely<Database>;
}

/** A person on call under a schedule now, with why (for the page's words and the timeline). */
export interface OnCallPage {
  person: Person;
  why: OnCallWhy;
}

/** A correction the row shows in force (applied, break-glass awaiting ratification, or verified). */
const inForceStates: readonly CorrectionState[] = ['applied', 'awaiting-ratification', 'active'];

export function createScheduleActivities({ db }: ScheduleActivityDependencies) {
  return {
    /** Who is on call now under each schedule (a schedule nobody covers, fallback included, pages nobody and says so on the timeline). */
    async whoIsOnCall({ schedules }: { incidentId: string; schedules: string[] }): Promise<OnCallPage[]> {
      const at = new Date();
      const pages: OnCallPage[] = [];
      for (const scheduleId of schedules) {
        const found = await findSchedule(db, scheduleId);
        const onCall = found ? await whoIsOnCall(db, scheduleId, at) : undefined;
        const person = onCall && found?.people.find((p) => p.id === onCall.person);
        if (!onCall || !person) continue;
        pages.push({
          person: { id: person.id, name: person.name, email: person.email, roles: person.roles, ...(person.contacts ? { contacts: person.contacts } : {}) },
          why: { scheduleId, scheduleName: onCall.scheduleName, source: onCall.source, until: onCall.until.toISOString() },
        });
      }
      return pages;
    },

    /** The next instant any of these schedules hands over, and which do then. */
    async nextOnCallHandOff({ schedules, after }: { schedules: string[]; after: string }): Promise<{ at: string; schedules: string[] } | undefined> {
      const next = await Promise.all(schedules.map(async (id) => ({ id, at: await nextHandOffOf(db, id, new Date(after)) })));
      const soonest = Math.min(...next.flatMap((n) => (n.at ? [n.at.getTime()] : [])));
      if (!Number.isFinite(soonest)) return undefined;
      return { at: new Date(soonest).toISOString(), schedules: next.filter((n) => n.at?.getTime() === soonest).map((n) => n.id) };
    },

    /** Where an incident stands, in a few lines, for someone coming on call during it. */
    async handOffBriefing({ incidentId }: { incidentId: string }): Promise<{ open: boolean; lines: string[] }> {
      const incident = await findIncident(db, incidentId);
      if (!incident || incident.state === 'closed') return { open: false, lines: [] };
      const inForce = (await listCorrections(db, incidentId)).filter((c) => inForceStates.includes(c.state as CorrectionState));
      return {
        open: true,
        lines: [
          `Title: ${incident.title}.`,
          `State: ${incident.state}${incident.commander ? `, commander ${incident.commander}` : ', nobody has taken command'}.`,
          inForce.length
            ? `Corrections in force: ${inForce.map((c) => `${kindInWords[c.kind as CorrectionKind]} (${c.id})`).join('; ')}.`
            : 'No correction is in force.',
        ],
      };
    },
  };
}
