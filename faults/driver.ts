/**
 * Scripted incidents driven through the HTTP API the way a careful client (the CLI, a chat bot)
 * would under faults: every request that fails for a transient reason (connection refused, 5xx,
 * 429, timeout) is retried, and before a retry the client looks whether the first attempt took
 * effect after all, so one person's action is not taken twice. A proposal, which a second send
 * would repeat, carries an Idempotency-Key, so its retries are safe. An incident is given up only
 * when the whole run has stopped moving (`Progress`), not after a fixed time.
 */
import { randomUUID } from 'node:crypto';
import type { Progress } from './progress.js';
import { notYetInForce } from '../services/incident/rules.js';
import { regimesById } from '../services/regulatory/catalogue.js';

export interface Tokens {
  responder: string;
  approver: string;
  compliance: string;
}

export interface IncidentPlan {
  n: number;
  severity: 'SEV2' | 'SEV3';
  kind: 'rate_limit' | 'capability_restriction';
  classify: boolean;
  dedupKey: string;
}

export interface DrivenIncident {
  plan: IncidentPlan;
  incidentId?: string;
  correctionId?: string;
  /** Regulator reports approved (sent) by the script. */
  reportIds: string[];
  steps: { step: string; at: number; ms: number; retries: number }[];
  startedAt: number;
  finishedAt?: number;
  error?: string;
}

export interface DriverStats {
  requests: number;
  retries: number;
  byStatus: Map<string, number>;
  /** An action that had taken effect although its request failed (found by looking before retrying). */
  tookEffectDespiteFailure: number;
}

class Refused extends Error {}
/** A probe could not tell whether an action took effect (the reads it needs fail too). */
class Unknown extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SCOPES = {
  rate_limit: { scope: { tiers: ['free', 'trial'] }, parameters: { requestsPerMinute: 10, per: 'user' } },
  capability_restriction: { scope: { all: true }, parameters: { disabledCapabilities: ['code-execution'] } },
} as const;

/**
 * Classes of the classified incidents, and the regimes of the runbook they bring in: the GPAI Code
 * of Practice (initial report within 15 days of awareness), California SB 53 (15 days) and the New
 * York RAISE Act (72 hours of determination), so every deadline is days away and a few minutes of
 * faults can only make one late by losing it.
 */
export const CLASSES = ['serious-harm-to-health', 'critical-safety-incident'];
const SERIOUS_HARM_REGIMES = ['eu-gpai-code-c9', 'us-ca-sb53', 'us-ny-raise'];
/** The regimes those classes start on frontier-assistant that are in force today (RAISE only from 2027-01-01). */
export const REGIMES_FOR_SERIOUS_HARM = SERIOUS_HARM_REGIMES.filter((id) => !notYetInForce(regimesById.get(id)!, new Date().toISOString()));

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

type Json = Record<string, unknown>;

export class Driver {
  readonly stats: DriverStats = { requests: 0, retries: 0, byStatus: new Map(), tookEffectDespiteFailure: 0 };

  constructor(
    private readonly api: string,
    private readonly tokens: Tokens,
    /** Marked at each step an incident finishes; an action keeps being retried until the run stalls. */
    private readonly progress: Progress,
  ) {}

  /** A step of an incident's script is done: that is what moves the run forward. */
  private stepDone(steps: DrivenIncident['steps'], step: string, began: number, retries: number): void {
    steps.push({ step, at: began, ms: Date.now() - began, retries });
    this.progress.mark();
  }

  private count(key: string): void {
    this.stats.byStatus.set(key, (this.stats.byStatus.get(key) ?? 0) + 1);
  }

  private async send(
    method: string,
    route: string,
    token: string,
    body?: unknown,
    options: { timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const { timeoutMs = 120_000, headers = {} } = options;
    this.stats.requests += 1;
    try {
      const response = await fetch(`${this.api}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      let parsed: Json = {};
      try {
        parsed = text ? (JSON.parse(text) as Json) : {};
      } catch {
        parsed = { text };
      }
      this.count(String(response.status));
      return { status: response.status, body: parsed };
    } catch (error) {
      const name = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
      this.count(name);
      return { status: 0, body: { error: `${name}: ${(error as Error).message}` } };
    }
  }

  /** A read that tolerates faults: undefined unless it answered 200. */
  private async read(route: string, token = this.tokens.responder): Promise<Json | undefined> {
    const reply = await this.send('GET', route, token, undefined, { timeoutMs: 20_000 });
    return reply.status === 200 ? reply.body : undefined;
  }

  /** A read a probe relies on: throws (the answer is unknown) unless it answered 200. */
  private async mustRead(route: string, token = this.tokens.responder): Promise<Json> {
    const body = await this.read(route, token);
    if (!body) throw new Unknown(`GET ${route} failed`);
    return body;
  }

  /**
   * Sends an action until it succeeds. Transient failures are retried; before each retry, and on a
   * 409 (refused: perhaps because an earlier attempt did it), `probe` says whether it took effect:
   * a value if it did, undefined if it did not, and it throws while it cannot tell (its reads fail
   * too), in which case the action is not sent again until it can. `settleMs`: after a transient
   * failure, keep looking at least this long before sending again (for an action a second send would
   * repeat and that takes no idempotency key, whose first send may still be on its way). Gives up
   * when the run stalls.
   */
  private async act<T>(
    steps: DrivenIncident['steps'],
    step: string,
    send: () => Promise<Reply>,
    accept: (body: Json) => T,
    probe: () => Promise<T | undefined>,
    settleMs = 0,
  ): Promise<T> {
    const began = Date.now();
    let retries = 0;
    let lastError = '';
    const done = (value: T) => {
      this.stepDone(steps, step, began, retries);
      return value;
    };
    for (let delay = 500; !this.progress.stalled; delay = Math.min(delay * 2, 5_000)) {
      const reply = await send();
      if (reply.status >= 200 && reply.status < 300) return done(accept(reply.body));
      lastError = `${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`;
      if (reply.status === 409) {
        const effect = await this.look(probe, 0);
        if (effect !== undefined) {
          if (retries > 0) this.stats.tookEffectDespiteFailure += 1;
          return done(effect);
        }
        throw new Refused(`${step}: refused: ${lastError}`);
      }
      if (reply.status >= 400 && reply.status < 500 && reply.status !== 404 && reply.status !== 429) throw new Refused(`${step}: ${lastError}`);
      retries += 1;
      this.stats.retries += 1;
      const effect = await this.look(probe, settleMs);
      if (effect !== undefined) {
        this.stats.tookEffectDespiteFailure += 1;
        return done(effect);
      }
      await sleep(delay);
    }
    throw new Error(`${step}: still failing when ${this.progress.describe()}: ${lastError}`);
  }

  /**
   * Asks `probe` until it can tell, and for at least `settleMs`: the effect, or undefined when the
   * action did not take effect.
   */
  private async look<T>(probe: () => Promise<T | undefined>, settleMs: number): Promise<T | undefined> {
    const settleUntil = Date.now() + settleMs;
    for (;;) {
      try {
        const effect = await probe();
        if (effect !== undefined || Date.now() >= settleUntil) return effect;
      } catch (error) {
        if (!(error instanceof Unknown)) throw error;
        if (this.progress.stalled) throw new Error(`cannot tell whether it took effect when ${this.progress.describe()}: ${error.message}`);
      }
      await sleep(1_000);
    }
  }

  /** Polls until `probe` gives a value, or the run stalls. */
  private async until<T>(steps: DrivenIncident['steps'], step: string, probe: () => Promise<T | undefined>): Promise<T> {
    const began = Date.now();
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) {
        this.stepDone(steps, step, began, 0);
        return value;
      }
      if (this.progress.stalled) throw new Error(`${step}: not reached when ${this.progress.describe()}`);
      await sleep(500);
    }
  }

  /** The incident's row and its workflow's live state; throws (unknown) when either cannot be read. */
  private async live(incidentId: string): Promise<{ row: Json; live: Json }> {
    const incident = await this.mustRead(`/v1/incidents/${incidentId}`);
    const live = incident.live as Json | undefined;
    if (!live || 'unavailable' in live) throw new Unknown(`the workflow of ${incidentId} does not answer`);
    return { row: incident, live };
  }

  /** One incident from trigger to resolution (see docs/faults.md for the script). */
  async drive(plan: IncidentPlan, record: DrivenIncident): Promise<void> {
    const { tokens } = this;
    const steps = record.steps;
    const who = `fault incident ${plan.n}`;
    try {
      const triggered = await this.act(
        steps,
        'trigger',
        () =>
          this.send('POST', '/v1/incidents', tokens.responder, {
            systemId: 'frontier-assistant',
            title: `Fault-injection incident ${plan.n}`,
            severity: plan.severity,
            dedupKey: plan.dedupKey,
          }),
        (body) => body as { incidentId: string },
        async () => undefined,
      );
      const incidentId = triggered.incidentId;
      record.incidentId = incidentId;
      await this.until(steps, 'recorded', async () => (await this.read(`/v1/incidents/${incidentId}`)) ?? undefined);

      await this.act(
        steps,
        'acknowledge',
        () => this.send('POST', `/v1/incidents/${incidentId}/acknowledge`, tokens.responder, { reason: who }),
        () => true,
        async () => ((await this.live(incidentId)).live.state !== 'triggered' ? true : undefined),
      );

      if (plan.classify) {
        await this.act(
          steps,
          'classify',
          () =>
            this.send('POST', `/v1/incidents/${incidentId}/classify`, tokens.responder, {
              classes: CLASSES,
              reason: `${who}: users harmed by unsafe medical advice`,
            }),
          () => true,
          async () => (((await this.live(incidentId)).live.classification as string[] | undefined)?.includes('serious-harm-to-health') ? true : undefined),
          15_000,
        );
      }

      const { scope, parameters } = SCOPES[plan.kind];
      const findCorrection = async () => {
        const corrections = ((await this.live(incidentId)).live.corrections as { id: string }[] | undefined) ?? [];
        return corrections[0] ? { correctionId: corrections[0].id } : undefined;
      };
      // One key for every send of this proposal: a retry whose first send is still on its way, or
      // whose answer was lost, gets the first correction back instead of proposing a second.
      const proposalKey = randomUUID();
      const { correctionId } = await this.act(
        steps,
        'propose',
        () =>
          this.send(
            'POST',
            `/v1/incidents/${incidentId}/corrections`,
            tokens.responder,
            { kind: plan.kind, scope, parameters, reason: `${who}: contain while investigating` },
            { headers: { 'idempotency-key': proposalKey } },
          ),
        (body) => body as { correctionId: string },
        findCorrection,
      );
      record.correctionId = correctionId;

      const correctionState = async () => {
        const c = await this.mustRead(`/v1/corrections/${correctionId}`);
        const live = c.live as Json | undefined;
        if (!live || 'unavailable' in live) throw new Unknown(`the workflow of correction ${correctionId} does not answer`);
        return { row: c.state as string, live: live.state as string, votes: (live.votes as { actor: string }[] | undefined) ?? [] };
      };
      await this.act(
        steps,
        'approve',
        () => this.send('POST', `/v1/corrections/${correctionId}/decision`, tokens.approver, { decision: 'approve', rationale: `${who}: proportionate` }),
        () => true,
        async () => ((await correctionState()).votes.some((v) => v.actor === 'sofia-marquez') ? true : undefined),
      );
      await this.until(steps, 'active', async () => {
        const c = ((await this.live(incidentId)).live.corrections as { id: string; state: string }[] | undefined)?.find((x) => x.id === correctionId);
        return c?.state === 'active' ? true : undefined;
      });

      if (plan.classify) {
        // Compliance sends each initial regulator report while the correction is in force.
        const drafted = await this.until(steps, 'reports-drafted', async () => {
          const reports = await this.read(`/v1/incidents/${incidentId}/reports`);
          const items = (reports?.items as { id: string; regime: string; clockId: string; sentAt: string | null }[] | undefined) ?? [];
          const clocks = (reports?.clocks as { regimeId: string; clocks?: { clockId: string; state: string }[] }[] | undefined) ?? [];
          // A report's row is written by the drafting activity, a moment before its clock's workflow
          // counts it as drafted and takes an approval; approving in between is refused (409).
          const approvable = (regime: string) => clocks.find((c) => c.regimeId === regime)?.clocks?.find((k) => k.clockId === 'initial')?.state === 'drafted';
          const initial = REGIMES_FOR_SERIOUS_HARM.map((regime) =>
            approvable(regime) ? items.find((r) => r.regime === regime && r.clockId === 'initial') : undefined,
          );
          return initial.every((r) => r !== undefined) ? (initial as { id: string }[]) : undefined;
        });
        for (const report of drafted) {
          // Compliance fills what Correx cannot derive: a report with a required field empty is refused.
          const missing = await this.until(
            steps,
            'report-fields',
            async () => (await this.read(`/v1/reports/${report.id}`, tokens.compliance))?.missing as string[] | undefined,
          );
          const edits = Object.fromEntries(missing.map((field) => [field, `${field}: as compliance established it`]));
          await this.act(
            steps,
            'report-approve',
            () => this.send('POST', `/v1/reports/${report.id}/approve`, tokens.compliance, { edits }),
            () => true,
            async () => {
              const reports = await this.mustRead(`/v1/incidents/${incidentId}/reports`);
              const item = (reports.items as { id: string; approvedAt: string | null }[] | undefined)?.find((r) => r.id === report.id);
              return item?.approvedAt ? true : undefined;
            },
          );
          record.reportIds.push(report.id);
        }
      }

      const restoration =
        plan.severity === 'SEV2'
          ? [
              { criterion: 'fix-deployed', evidence: `${who}: safety filter v2 deployed` },
              { criterion: 'evaluation-passed', evidence: `${who}: red-team suite passes` },
            ]
          : undefined;
      await this.act(
        steps,
        'lift',
        () =>
          this.send('POST', `/v1/corrections/${correctionId}/lift`, tokens.approver, { rationale: `${who}: fixed`, ...(restoration ? { restoration } : {}) }),
        () => true,
        async () => {
          const s = await correctionState();
          return s.row === 'lifted' || s.live === 'lifting' || s.live === 'lifted' ? true : undefined;
        },
      );
      await this.until(steps, 'lifted', async () => ((await correctionState()).row === 'lifted' ? true : undefined));

      await this.act(
        steps,
        'resolve',
        () => this.send('POST', `/v1/incidents/${incidentId}/resolve`, tokens.responder, { reason: `${who}: done` }),
        () => true,
        async () => ((await this.live(incidentId)).live.state === 'resolved' ? true : undefined),
      );
      record.finishedAt = Date.now();
    } catch (error) {
      record.error = (error as Error).message;
      record.finishedAt = Date.now();
    }
  }
}
