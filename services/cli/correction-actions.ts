import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { isApproved, isRejected, type AuthorityRule, type Vote } from '../correction/authority.js';
import type { LiftProgress } from '../incident/rules.js';
import { CorrectionKind, correctionParameters, CorrectionProposalInput } from '../correction/schema.js';
import { ApiClient, idArgument, keyValues, parseInput, type ConnectionOptions } from './api.js';
import { CliError, ExitCode } from './exit.js';
import type { IncidentSnapshot } from './incident-actions.js';
import { fields, print, printJson, table, time } from './output.js';

// What `correx correction …` does (the commands are defined in ./correction.ts).

/** A correction's live approval state, as its workflow reports it. */
interface CorrectionSnapshot {
  id: string;
  kind: string;
  state: string;
  proposedBy: string;
  escalated: boolean;
  rule: AuthorityRule;
  votes: Vote[];
}

interface CorrectionView {
  id: string;
  incidentId: string;
  systemId: string;
  kind: string;
  scope: unknown;
  parameters: unknown;
  reason: string;
  state: string;
  breakGlass: boolean;
  proposedBy: string;
  proposedAt: string;
  approvedAt: string | null;
  rejectedAt: string | null;
  appliedAt: string | null;
  verifiedAt: string | null;
  liftedAt: string | null;
  live: Partial<CorrectionSnapshot> & { unavailable?: string };
}

const Rationale = z.string().trim().min(1, 'give the rationale').max(2000);
const proposalNames = {
  kind: '--kind',
  scope: '--scope',
  parameters: '--param',
  reason: '--reason',
  breakGlass: '--break-glass',
  customerMessage: '--customer-message',
};

/**
 * `--param key=value` as the kind's parameters: each value is taken as JSON (numbers, lists), as
 * text, or as a comma-separated list, whichever the parameter accepts.
 */
function parameters(kind: string, pairs: [string, string][]): Record<string, unknown> {
  const known = CorrectionKind.safeParse(kind);
  if (!known.success) return Object.fromEntries(pairs);
  const shape = correctionParameters[known.data].shape as Record<string, z.ZodType>;
  const result: Record<string, unknown> = {};
  for (const [key, raw] of pairs) {
    const schema = shape[key];
    if (!schema) {
      const names = Object.keys(shape);
      throw new CliError(`--param ${key}: not a parameter of ${kind} (${names.length ? `it takes ${names.join(', ')}` : 'it takes none'})`, ExitCode.usage);
    }
    let json: unknown;
    let isJson = false;
    try {
      json = JSON.parse(raw);
      isJson = true;
    } catch {
      // not JSON: text or a list
    }
    const candidates = [
      ...(isJson ? [json] : []),
      raw,
      raw
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ];
    result[key] = candidates.find((candidate) => schema.safeParse(candidate).success) ?? (isJson ? json : raw);
  }
  return result;
}

async function scopeOf(options: { scope?: string; scopeFile?: string }): Promise<unknown> {
  if (options.scope !== undefined && options.scopeFile !== undefined) throw new CliError('give --scope or --scope-file, not both', ExitCode.usage);
  let text: string;
  let flag: string;
  if (options.scopeFile !== undefined) {
    flag = `--scope-file ${options.scopeFile}`;
    try {
      text = await readFile(options.scopeFile, 'utf8');
    } catch (error) {
      throw new CliError(`${flag}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, ExitCode.usage);
    }
  } else if (options.scope !== undefined) {
    flag = '--scope';
    text = options.scope;
  } else {
    return { all: true };
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`${flag}: not JSON (${(error as Error).message}); e.g. {"all":true} or {"tiers":["free"]}`, ExitCode.usage);
  }
}

/** `1 approval from a or b`, `2 approvals from a, b (different people in different roles)`. */
function neededFrom(rule: AuthorityRule): string {
  if (rule.quorum === 1) return `1 approval from ${rule.approverRoles.join(' or ')}`;
  return `${rule.quorum} approvals from ${rule.approverRoles.join(', ')} (different people in different roles)`;
}

function approvals(snapshot: Pick<CorrectionSnapshot, 'votes' | 'rule'>): string {
  const approved = snapshot.votes.filter((v) => v.decision === 'approve').length;
  return `${approved} of ${snapshot.rule.quorum} approval${snapshot.rule.quorum === 1 ? '' : 's'}`;
}

/**
 * The state a decision led to. The decision's answer is taken before the correction moves on, so a
 * vote that completes the quorum (or rejects) still shows `proposed`: read it as the workflow does.
 */
function decidedState(snapshot: CorrectionSnapshot): string {
  if (snapshot.state !== 'proposed') return snapshot.state;
  const voting = { rule: snapshot.rule, escalated: snapshot.escalated, proposedBy: snapshot.proposedBy, votes: snapshot.votes };
  return isRejected(voting) ? 'rejected' : isApproved(voting) ? 'approved' : 'proposed';
}

export async function propose(
  incident: string,
  options: ConnectionOptions & {
    kind: string;
    reason: string;
    scope?: string;
    scopeFile?: string;
    param?: string[];
    breakGlass?: boolean;
    customerMessage?: string;
  },
): Promise<void> {
  const incidentId = idArgument(incident, 'an incident', '<incidentId>');
  const body = parseInput(
    CorrectionProposalInput,
    {
      kind: options.kind,
      scope: await scopeOf(options),
      parameters: parameters(options.kind, keyValues(options.param, '--param')),
      reason: options.reason,
      ...(options.breakGlass ? { breakGlass: true } : {}),
      ...(options.customerMessage !== undefined ? { customerMessage: options.customerMessage } : {}),
    },
    proposalNames,
  );
  const api = await ApiClient.connect(options);
  // One Idempotency-Key for this invocation: its retries can never propose a second correction.
  const proposed = await api.postIdempotent<{ correctionId: string; workflowId: string }>(`/v1/incidents/${incidentId}/corrections`, body);
  if (options.json) return printJson(proposed);
  let needs = '';
  try {
    const view = await api.get<CorrectionView>(`/v1/corrections/${proposed.correctionId}`);
    if (view.live.rule) needs = view.breakGlass ? `; ${view.live.state}` : `; needs ${neededFrom(view.live.rule)}`;
  } catch {
    // the id is what matters; the rule is a courtesy
  }
  print(`correction ${proposed.correctionId}: proposed (${body.kind} on incident ${incidentId}${needs})`);
}

/** `approve` and `reject`: a vote with its rationale. */
export function decide(name: 'approve' | 'reject') {
  return async (id: string, options: ConnectionOptions & { rationale: string }): Promise<void> => {
    const correctionId = idArgument(id, 'a correction', '<correctionId>');
    const rationale = parseInput(z.object({ rationale: Rationale }), { rationale: options.rationale }).rationale;
    const api = await ApiClient.connect(options);
    const snapshot = await api.post<CorrectionSnapshot>(`/v1/corrections/${correctionId}/decision`, { decision: name, rationale });
    if (options.json) return printJson(snapshot);
    print(`correction ${correctionId}: ${decidedState(snapshot)} (${approvals(snapshot)})`);
  };
}

export async function lift(id: string, options: ConnectionOptions & { rationale: string; restoration?: string[] }): Promise<void> {
  const correctionId = idArgument(id, 'a correction', '<correctionId>');
  const body = parseInput(
    z.object({
      rationale: Rationale,
      restoration: z
        .array(z.object({ criterion: z.string().min(1, 'name the criterion'), evidence: z.string().trim().min(1, 'give the evidence') }))
        .optional(),
    }),
    {
      rationale: options.rationale,
      restoration: options.restoration ? keyValues(options.restoration, '--restoration').map(([criterion, evidence]) => ({ criterion, evidence })) : undefined,
    },
  );
  const api = await ApiClient.connect(options);
  const answer = await api.post<IncidentSnapshot & { lift: LiftProgress }>(`/v1/corrections/${correctionId}/lift`, body);
  if (options.json) return printJson(answer);
  const state = answer.corrections.find((c) => c.id === correctionId)?.state ?? 'lifting';
  print(answer.lift.decided ? `correction ${correctionId}: ${state} (incident ${answer.incidentId} is ${answer.state})` : liftPending(answer.lift));
}

/** A lift short of its quorum: the vote is on record, the correction stays in force, and who can give the votes still missing. */
function liftPending(lift: LiftProgress): string {
  const given = lift.votes.map((v) => `${v.actor} as ${v.role}`).join(', ');
  const who = `${lift.roles.join(' or ')}${lift.people.length ? ` (${lift.people.join(', ')})` : ' (nobody in the runbook can give it)'}`;
  const escalation = lift.escalated
    ? `; escalated: one vote from ${lift.escalateTo.join(' or ')} lifts it alone`
    : lift.escalatesAt
      ? `; if they have not voted by ${time(lift.escalatesAt)}, one vote from ${lift.escalateTo.join(' or ')} lifts it alone`
      : '';
  return (
    `correction ${lift.correctionId}: lift vote recorded (${lift.votes.length} of ${lift.quorum}: ${given}); still in force until ` +
    `${lift.needed} more lift vote${lift.needed === 1 ? '' : 's'} from ${who}${escalation}`
  );
}

export async function show(id: string, options: ConnectionOptions): Promise<void> {
  const correctionId = idArgument(id, 'a correction', '<correctionId>');
  const api = await ApiClient.connect(options);
  const view = await api.get<CorrectionView>(`/v1/corrections/${correctionId}`);
  if (options.json) return printJson(view);
  const live = view.live;
  print(`correction ${view.id}  ${view.kind}  ${live.state ?? view.state}`);
  print(
    fields([
      ['incident', view.incidentId],
      ['system', view.systemId],
      ['scope', JSON.stringify(view.scope)],
      ['parameters', JSON.stringify(view.parameters)],
      ['reason', view.reason],
      ['break-glass', view.breakGlass],
      ['proposed', `${time(view.proposedAt)} by ${view.proposedBy}`],
      [
        'authority',
        live.rule
          ? `${approvals({ votes: live.votes ?? [], rule: live.rule })} from ${live.rule.approverRoles.join(', ')}${live.escalated ? ` (escalated to ${live.rule.escalateTo.join(', ')})` : ''}`
          : undefined,
      ],
      ['approved', view.approvedAt && time(view.approvedAt)],
      ['rejected', view.rejectedAt && time(view.rejectedAt)],
      ['applied', view.appliedAt && time(view.appliedAt)],
      ['verified', view.verifiedAt && time(view.verifiedAt)],
      ['lifted', view.liftedAt && time(view.liftedAt)],
      ['workflow', live.unavailable ? `unavailable (${live.unavailable})` : undefined],
    ]),
  );
  if (live.votes?.length) {
    print();
    print(
      table(
        ['actor', 'role', 'decision', 'rationale'],
        live.votes.map((v) => [v.actor, v.role, v.decision, v.rationale]),
      ),
    );
  }
}

interface EnforcementView {
  systemId: string;
  version: number;
  instances: { instanceId: string; version: number; heartbeatAt: string }[];
  points: { pointId: string; kind: string; owner: string; version: number; decisions: number; firstSeenAt: string; lastSeenAt: string }[];
}

/** Where a system's corrections are enforced: its policy version, and each API instance and gateway with the version it holds. */
export async function enforcement(systemId: string, options: ConnectionOptions): Promise<void> {
  const api = await ApiClient.connect(options);
  const view = await api.get<EnforcementView>(`/v1/systems/${encodeURIComponent(systemId)}/enforcement`);
  if (options.json) return printJson(view);
  const behind = (version: number) => (version >= view.version ? 'current' : `${view.version - version} behind`);
  print(`${view.systemId}: policy version ${view.version}`);
  if (view.instances.length + view.points.length === 0) {
    print("no gateway has asked for this system's policy in the last 10 minutes, and no API instance holds it");
    return;
  }
  print();
  print(
    table(
      ['where', 'kind', 'version', 'state', 'heard'],
      [
        ...view.instances.map((i) => [i.instanceId, 'correx api', String(i.version), behind(i.version), time(i.heartbeatAt)]),
        // A gateway asking per request enforces the version of the instance answering it; one holding the policy, its own.
        ...view.points.map((p) => [
          `${p.pointId} (${p.owner}, ${p.decisions} decisions)`,
          p.kind,
          String(p.version),
          p.kind === 'policy' || p.version >= view.version ? behind(p.version) : 'asks per request',
          time(p.lastSeenAt),
        ]),
      ],
    ),
  );
}
