import type { Role } from '../access/roles.js';
import { admitVote, findRule, isApproved, type Person, type Vote, type VotingState } from '../correction/authority.js';
import type { CorrectionKind } from '../correction/schema.js';
import { planIncident, type IncidentPlan } from '../incident/plan.js';
import { liftDecided, liftRule, liftVote, reviewSignOffRoles, type IncidentStanding } from '../incident/rules.js';
import type { Runbook } from '../runbook/schema.js';
import type { OpenAPIV3_1 } from 'openapi-types';
import { drillSteps, type DrillPlan, type DrillScenario, type DrillStep } from './schema.js';

export type { DrillPlan, DrillStep };

export class DrillCannotRun extends Error {
  override readonly name = 'DrillCannotRun';
}

/** The API operation (its operationId) through which a person takes each step of a real incident. */
export const drillOperations: Record<DrillStep, string> = {
  acknowledge: 'acknowledgeIncident',
  propose: 'proposeCorrection',
  approve: 'decideCorrection',
  lift: 'liftCorrection',
  resolve: 'resolveIncident',
  'submit review': 'submitReview',
  'task done': 'markTaskDone',
  'sign off': 'signOffReview',
};

/** The token roles each step's operation lets in, as the API's contract (its OpenAPI document) states them. */
export function stepAccess(document: OpenAPIV3_1.Document): DrillAccess['routes'] {
  const security = new Map<string, Role[]>();
  for (const item of Object.values(document.paths ?? {}))
    for (const operation of Object.values(item ?? {}) as OpenAPIV3_1.OperationObject[])
      if (operation?.operationId) security.set(operation.operationId, (operation.security ?? []).flatMap((s) => s.bearer ?? []) as Role[]);
  const access = {} as Record<DrillStep, Role[]>;
  for (const step of drillSteps) {
    const allowed = security.get(drillOperations[step]);
    if (!allowed) throw new Error(`the API has no operation ${drillOperations[step]} for the drill step ${step}`);
    access[step] = allowed;
  }
  return access;
}

/** What the API would let each person do: the roles each step's route admits, and each person's tokens. */
export interface DrillAccess {
  /** The token roles each step's operation lets in (its route's `config.access`). */
  routes: Record<DrillStep, readonly Role[]>;
  /** The roles of each person's live bearer tokens (neither revoked nor expired), by token owner. */
  tokens: ReadonlyMap<string, readonly Role[]>;
}

/** The commander leads: acknowledges, proposes, resolves and submits the review. */
const commanderSteps: DrillStep[] = ['acknowledge', 'propose', 'resolve', 'submit review'];
/** The correction the drill proposes, as the real rules see it before it exists. */
const drillCorrectionId = '00000000-0000-4000-8000-000000000000';

/**
 * Casts the drill from the runbook: every step goes to a runbook person whom the real incident would let
 * take it, by the same rules (the decision authority's roles, quorum and separation of duties; the lift
 * rule; the review's sign-off roles) and through the same door (a live token with a role the step's route
 * admits). A step nobody can take is a problem of the plan: the drill reports it failed, with why, and
 * touches nothing. A scenario the runbook cannot run at all (`DrillCannotRun`) is refused outright.
 */
export function planDrill(runbook: Runbook, runbookVersion: string, scenario: DrillScenario, access: DrillAccess): DrillPlan {
  const plan = planIncident(runbook, runbookVersion);
  const severity = scenario.severity ?? runbook.severities[1]?.id ?? runbook.severities[0]!.id;
  if (!plan.severities.includes(severity)) throw new DrillCannotRun(`severity ${severity} is not one of ${plan.severities.join(', ')}`);
  const playbook = (
    runbook.correctionPlaybook as
      Record<string, { kind: CorrectionKind; scope: Record<string, unknown>; parameters?: Record<string, unknown>; reason: string }[]> | undefined
  )?.[severity]?.[0];
  const correction = scenario.correction ?? (playbook ? { ...playbook, parameters: playbook.parameters ?? {} } : undefined);
  if (!correction) throw new DrillCannotRun(`the runbook has no correction playbook for ${severity}; give one in the scenario`);
  const rule = findRule(plan.authority, correction.kind, severity);
  if (!rule) throw new DrillCannotRun(`the runbook's decision authority has no rule for ${correction.kind} at ${severity}`);

  const door = doorOf(access);
  const cast: DrillPlan['cast'] = [];
  const problems: DrillPlan['problems'] = [];
  const restoration = plan.restoration.criteria.map((c) => ({ criterion: c.id, evidence: `drill: rehearsed (${c.description})` }));

  // Whoever may take all four steps can lead; those the escalation pages first are preferred, and of
  // those one whose vote neither the approval nor the lift needs, since a proposer may cast neither.
  const leaders = unique([...plan.escalation.levels.flatMap((l) => l.people), ...plan.people]).filter((p) => commanderSteps.every((s) => door.role(p.id, s)));
  const castable = (commander: Person) => 'votes' in castApprovals(plan, rule, commander, door);
  const liftable = (commander: Person) => 'votes' in castLifts(plan, { kind: correction.kind, severity }, commander, restoration, door);
  const commander = leaders.find((p) => castable(p) && liftable(p)) ?? leaders.find(castable) ?? leaders[0];
  if (commander) for (const step of commanderSteps) cast.push({ step, person: commander.id, token: door.role(commander.id, step)! });
  else
    problems.push({
      step: 'acknowledge',
      reason: `nobody in the runbook holds a token that may acknowledge, propose, resolve and submit the review (${door.describe('acknowledge')}): the incident would have no commander; for example: correx token create --owner ${plan.escalation.levels[0]?.people[0]?.id ?? plan.people[0]!.id} --role responder`,
    });

  const approvals = castApprovals(plan, rule, commander, door);
  if ('votes' in approvals)
    for (const vote of approvals.votes) cast.push({ step: 'approve', person: vote.actor, role: vote.role, token: door.role(vote.actor, 'approve')! });
  else problems.push({ step: 'approve', reason: approvals.problem });

  const lifts = castLifts(plan, { kind: correction.kind, severity }, commander, restoration, door);
  if ('votes' in lifts) for (const vote of lifts.votes) cast.push({ step: 'lift', person: vote.actor, role: vote.role, token: door.role(vote.actor, 'lift')! });
  else problems.push({ step: 'lift', reason: lifts.problem });

  const signOffRoles = reviewSignOffRoles({ severity, corrections: [{ kind: correction.kind }] as IncidentStanding['snapshot']['corrections'] }, plan);
  const signers = plan.people.filter((p) => p.roles.some((r) => signOffRoles.includes(r)));
  const signOff = signers.find((p) => door.role(p.id, 'sign off'));
  if (signOff)
    cast.push({ step: 'sign off', person: signOff.id, role: signOff.roles.find((r) => signOffRoles.includes(r))!, token: door.role(signOff.id, 'sign off')! });
  else
    problems.push({
      step: 'sign off',
      reason: `the review of a ${correction.kind} at ${severity} is signed off by a holder of ${signOffRoles.join(', ')}; ${signers.length ? `${holders(signers, signOffRoles, door, 'sign off')}, so nobody can` : 'nobody in the runbook holds one'}`,
    });

  return {
    systemId: plan.systemId,
    runbookVersion,
    title: scenario.title ?? `Drill: ${correction.reason}`,
    severity,
    correction,
    ...(commander ? { commander: commander.id } : {}),
    approvers: 'votes' in approvals ? approvals.votes.map((v) => v.actor) : [],
    ...('votes' in lifts ? { lifter: lifts.votes[0]!.actor } : {}),
    lifters: 'votes' in lifts ? lifts.votes.map((v) => v.actor) : [],
    restoration,
    ...(signOff ? { signOff: signOff.id } : {}),
    markTasksDone: plan.people.filter((p) => door.role(p.id, 'task done')).map((p) => p.id),
    cast,
    problems,
    ...gatewayProbeOf(runbook),
  };
}

/** Where the drill probes the system's gateway, and how it names who sends a request: from the policy enforcer's runbook entry. */
function gatewayProbeOf(runbook: Runbook): Pick<DrillPlan, 'gatewayProbe'> {
  const enforcement = runbook.system.enforcement;
  if (enforcement.adapter !== 'policy' || !enforcement.drillProbe) return {};
  const { url, authorizationEnv, body } = enforcement.drillProbe;
  return { gatewayProbe: { url, headers: enforcement.requestHeaders, ...(authorizationEnv ? { authorizationEnv } : {}), ...(body ? { body } : {}) } };
}

interface Door {
  /** The role of the person's tokens that the step's route lets in, if any. */
  role(person: string, step: DrillStep): Role | undefined;
  /** `approver or admin`: who the step's route lets in. */
  describe(step: DrillStep): string;
}

function doorOf(access: DrillAccess): Door {
  return {
    role: (person, step) => access.tokens.get(person)?.find((r) => access.routes[step].includes(r)),
    describe: (step) => access.routes[step].join(' or '),
  };
}

const unique = (people: Person[]) => people.filter((p, i) => people.findIndex((q) => q.id === p.id) === i);

/** `priya (safety-officer; no token that may decide: approver or admin) and li (head-of-safety)`. */
function holders(people: Person[], roles: string[], door: Door, step: DrillStep): string {
  const words = people.map((p) => {
    const held = p.roles.filter((r) => roles.includes(r)).join(', ');
    return door.role(p.id, step) ? `${p.id} (${held})` : `${p.id} (${held}; no token for ${step}: ${door.describe(step)})`;
  });
  return `${words.length === 1 ? 'its holder is' : 'their holders are'} ${words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : words[0]}`;
}

/**
 * Finds an order in which the candidates' votes are each admitted by the real check and together decide:
 * depth first, each set of counted votes tried once. Returns the votes, or undefined when none decides.
 */
function castVotes(candidates: Person[], admit: (actor: string, votes: Vote[]) => string | undefined, decided: (votes: Vote[]) => boolean): Vote[] | undefined {
  const tried = new Set<string>();
  const search = (votes: Vote[]): Vote[] | undefined => {
    if (decided(votes)) return votes;
    const key = votes
      .map((v) => `${v.actor}:${v.role}`)
      .sort()
      .join(' ');
    if (tried.has(key)) return undefined;
    tried.add(key);
    for (const person of candidates) {
      if (votes.some((v) => v.actor === person.id)) continue;
      const role = admit(person.id, votes);
      if (role === undefined) continue;
      const found = search([...votes, { actor: person.id, role, decision: 'approve', rationale: 'drill', at: '' }]);
      if (found) return found;
    }
    return undefined;
  };
  return search([]);
}

/** Why no order of admitted votes decides: the votes the rule needs, and who holds its roles. */
function quorumProblem(
  rule: VotingState['rule'],
  votes: [one: string, many: string],
  people: Person[],
  commander: Person | undefined,
  door: Door,
  step: DrillStep,
): string {
  const needed = `${rule.quorum} ${votes[rule.quorum === 1 ? 0 : 1]} from ${rule.quorum === 1 ? 'a holder' : 'different people holding different roles'} of ${rule.approverRoles.join(', ')} ${rule.quorum === 1 ? 'is' : 'are'} needed for ${rule.kind} at ${rule.severity}`;
  const able = people.filter((p) => p.id !== commander?.id && p.roles.some((r) => rule.approverRoles.includes(r)));
  if (able.length === 0) return `${needed}; nobody in the runbook${commander ? ` but the commander ${commander.id}, who proposes it,` : ''} holds one`;
  return `${needed}; ${holders(able, rule.approverRoles, door, step)}: ${rule.quorum === 1 ? 'nobody can' : 'the quorum cannot be met'}`;
}

function castApprovals(plan: IncidentPlan, rule: VotingState['rule'], commander: Person | undefined, door: Door): { votes: Vote[] } | { problem: string } {
  const voting = (votes: Vote[]): VotingState => ({ rule, escalated: false, proposedBy: commander?.id ?? '', votes });
  const votes = castVotes(
    plan.people.filter((p) => door.role(p.id, 'approve')),
    (actor, votes) => {
      const admitted = admitVote(voting(votes), plan.people, { actor, decision: 'approve', rationale: 'drill' });
      return 'role' in admitted ? admitted.role : undefined;
    },
    (votes) => isApproved(voting(votes)),
  );
  return votes ? { votes } : { problem: quorumProblem(rule, ['approval', 'approvals'], plan.people, commander, door, 'approve') };
}

function castLifts(
  plan: IncidentPlan,
  correction: { kind: CorrectionKind; severity: string },
  commander: Person | undefined,
  restoration: { criterion: string; evidence: string }[],
  door: Door,
): { votes: Vote[] } | { problem: string } {
  const proposedBy = commander?.id ?? '';
  // The drill's incident as the real lift rules see it: its one correction in force, so its last.
  const standing = (votes: Vote[]): IncidentStanding => ({
    snapshot: {
      incidentId: 'drill',
      state: 'mitigated',
      severity: correction.severity,
      commander: proposedBy,
      corrections: [{ id: drillCorrectionId, workflowId: 'drill', kind: correction.kind, severity: correction.severity, state: 'active', breakGlass: false }],
    },
    plan,
    closing: false,
    lifts: new Map([[drillCorrectionId, { proposedBy, escalated: false, votes, restoration }]]),
  });
  const votes = castVotes(
    plan.people.filter((p) => door.role(p.id, 'lift')),
    (actor, votes) => {
      const admitted = liftVote(standing(votes), { correctionId: drillCorrectionId, actor, at: '', rationale: 'drill', restoration });
      return 'role' in admitted ? admitted.role : undefined;
    },
    (votes) => votes.length > 0 && liftDecided(standing(votes), drillCorrectionId),
  );
  if (votes) return { votes };
  const rule = liftRule({ plan }, correction);
  return {
    problem: rule
      ? quorumProblem(rule, ['vote to lift', 'votes to lift'], plan.people, commander, door, 'lift')
      : `the runbook gives no authority to lift ${correction.kind} at ${correction.severity}`,
  };
}
