import { sql, type Kysely } from 'kysely';
import { authenticateTokenId } from '../access/repository.js';
import type { Role } from '../access/roles.js';
import type { CorrectionClient } from '../correction/client.js';
import type { Database } from '../db/schema.js';
import { ActionRefused } from '../errors.js';
import { correctionWorkflowId } from '../identity.js';
import type { IncidentClient } from '../incident/client.js';
import { findRunbookVersion } from '../runbook/repository.js';
import { personOf } from './rooms.js';
import './schema.js';
import type { ChatVia } from './via.js';

/** A command read from a room. */
export type ChatCommand =
  | { name: 'ack' }
  | { name: 'approve' | 'reject'; correction: string; rationale: string }
  | { name: 'help' }
  | { name: 'unknown'; text: string }
  | { name: 'usage'; text: string };

/** `!ack`, `!approve <correction id> <rationale>`, `!reject <correction id> <rationale>`, `!help`; undefined for a message that is no command. */
export function parseCommand(body: string): ChatCommand | undefined {
  const text = body.trim();
  if (!text.startsWith('!')) return undefined;
  const [head = '', ...rest] = text.slice(1).split(/\s+/);
  const name = head.toLowerCase();
  if (name === 'ack' || name === 'acknowledge') return { name: 'ack' };
  if (name === 'help') return { name: 'help' };
  if (name === 'approve' || name === 'reject') {
    const [correction, ...words] = rest;
    const rationale = words.join(' ').trim();
    if (!correction || !rationale) return { name: 'usage', text: `usage: !${name} <correction id> <rationale>` };
    return { name, correction, rationale };
  }
  return { name: 'unknown', text: `unknown command !${head}` };
}

export const helpText = [
  'Correx commands:',
  '!ack: acknowledge the incident (in a page room: the incident paged there last); stops the paging, and the first to acknowledge leads it',
  '!approve <correction id> <rationale>: approve a proposed correction',
  '!reject <correction id> <rationale>: reject a proposed correction',
  '!help: this list',
  'You act as the runbook person whose Matrix contact is your account, with the same authority as through the API: you need an active Correx API token with a role that allows the action (acknowledge: responder or admin; decide: approver or admin), and the runbook decides whose vote counts.',
].join('\n');

/** The roles each action's route admits (services/incident/routes.ts, services/correction/routes.ts). */
const acknowledgeRoles: readonly Role[] = ['responder', 'admin'];
const decideRoles: readonly Role[] = ['approver', 'admin'];

/**
 * Whether a person holds, now, a token the API would admit for an action: not revoked, not expired, a
 * person's token (not an integration key) with one of the route's roles. Checked through the API's own
 * admission (authenticateTokenId), token by token.
 */
export async function holdsRole(db: Kysely<Database>, person: string, wanted: readonly Role[], now = new Date()): Promise<boolean> {
  const tokens = await db
    .selectFrom('api_tokens')
    .select(['id'])
    .where('owner', '=', person)
    .where('kind', '=', 'token')
    .where('revoked_at', 'is', null)
    .execute();
  for (const token of tokens) {
    const admitted = await authenticateTokenId(db, token.id, now);
    if ('principal' in admitted && !admitted.principal.systemId && admitted.principal.roles.some((r) => wanted.includes(r))) return true;
  }
  return false;
}

export interface CommandDependencies {
  db: Kysely<Database>;
  incidents: Pick<IncidentClient, 'acknowledge'>;
  corrections: Pick<CorrectionClient, 'decide'>;
  now?: () => Date;
}

export interface CommandContext {
  /** The room's row: an incident room names its incident, a page room the incident paged there last. */
  room: { roomId: string; kind: 'incident' | 'direct'; incidentId: string | null };
  sender: string;
  eventId: string;
}

/** What the command did: a reply for the room, and for the record what came of it and who acted. */
export interface CommandOutcome {
  reply: string;
  outcome: 'done' | 'refused' | 'failed' | 'help';
  person?: string;
  incidentId?: string;
}

/**
 * Carries out one command under the API's authority: the sender is the runbook person whose matrix
 * contact it is (in the runbook version of the incident concerned), who must hold an API token with a
 * role the API route admits; then the same workflow update the route makes, whose validator (the
 * runbook's decision authority, separation of duties, the incident's state) has the last word.
 */
export async function runCommand(deps: CommandDependencies, command: ChatCommand, context: CommandContext): Promise<CommandOutcome> {
  const now = deps.now?.() ?? new Date();
  if (command.name === 'help') return { reply: helpText, outcome: 'help' };
  if (command.name === 'unknown' || command.name === 'usage') return { reply: `${command.text}. !help lists the commands.`, outcome: 'refused' };

  // The incident concerned, and the correction when deciding.
  let incidentId = context.room.incidentId;
  let correction: { id: string; incident_id: string } | undefined;
  if (command.name === 'approve' || command.name === 'reject') {
    const wanted = command.correction.toLowerCase();
    if (!/^[0-9a-f-]{4,36}$/.test(wanted)) return { reply: `${command.correction} is not a correction id`, outcome: 'refused' };
    let query = deps.db
      .selectFrom('corrections')
      .select(['id', 'incident_id'])
      .where(sql<string>`id::text`, 'like', `${wanted}%`);
    if (incidentId && wanted.length < 36) query = query.where('incident_id', '=', incidentId);
    const matches = await query.limit(2).execute();
    if (matches.length !== 1)
      return {
        reply: matches.length ? `${command.correction} names more than one correction: give more of its id` : `no correction ${command.correction}`,
        outcome: 'refused',
      };
    correction = matches[0]!;
    incidentId = correction.incident_id;
  }
  if (!incidentId) return { reply: 'No incident was paged in this room yet: acknowledge from the incident room, the console or the CLI.', outcome: 'refused' };
  const incident = await deps.db.selectFrom('incidents').select(['id', 'workflow_id', 'runbook_version']).where('id', '=', incidentId).executeTakeFirst();
  if (!incident) return { reply: `no incident ${incidentId}`, outcome: 'refused', incidentId };
  const runbook = incident.runbook_version ? await findRunbookVersion(deps.db, incident.runbook_version) : undefined;
  const person = runbook ? personOf(runbook, context.sender) : undefined;
  if (!person)
    return {
      reply: `${context.sender} is not a person of this incident's runbook (no one has this Matrix account as a contact), so Correx does not act on it.`,
      outcome: 'refused',
      incidentId,
    };
  const via: ChatVia = { channel: 'matrix', user: context.sender, room: context.room.roomId, event: context.eventId };
  const roles = command.name === 'ack' ? acknowledgeRoles : decideRoles;
  if (!(await holdsRole(deps.db, person, roles, now)))
    return {
      reply: `${person} holds no active Correx API token with the role ${roles.join(' or ')}, which ${command.name === 'ack' ? 'acknowledging' : 'deciding'} takes; ask an administrator (correx token create --owner ${person} --role ${roles[0]}).`,
      outcome: 'refused',
      person,
      incidentId,
    };
  try {
    if (command.name === 'ack') {
      const action = { actor: person, at: now.toISOString(), via };
      const snapshot = await deps.incidents.acknowledge(incident.workflow_id, action, { updateId: `matrix:${context.eventId}` });
      return {
        reply: `Acknowledged by ${person}: ${person} leads incident ${incident.id} (${snapshot.state}); paging stopped.`,
        outcome: 'done',
        person,
        incidentId,
      };
    }
    const decision = {
      decision: command.name === 'approve' ? ('approve' as const) : ('reject' as const),
      rationale: command.rationale,
      actor: person,
      at: now.toISOString(),
      via,
    };
    const snapshot = await deps.corrections.decide(correctionWorkflowId(incident.workflow_id, correction!.id), decision, {
      updateId: `matrix:${context.eventId}`,
    });
    return {
      reply: `${person} ${command.name === 'approve' ? 'approved' : 'rejected'} correction ${correction!.id.slice(0, 8)}: it is ${snapshot.state}.`,
      outcome: 'done',
      person,
      incidentId,
    };
  } catch (error) {
    if (error instanceof ActionRefused) return { reply: `Refused: ${error.message}`, outcome: 'refused', person, incidentId };
    return {
      reply: `Could not ${command.name === 'ack' ? 'acknowledge' : command.name}: ${(error as Error).message.split('\n')[0]}`,
      outcome: 'failed',
      person,
      incidentId,
    };
  }
}
