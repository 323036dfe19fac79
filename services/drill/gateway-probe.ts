import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { INSTANCE_SILENCE_MS } from '../correction/policy-versions.js';
import type { DrillPlan } from './schema.js';

export type GatewayProbe = NonNullable<DrillPlan['gatewayProbe']>;

/** How a drill step reports the probe: what the gateway did, and why that is not what the correction means. */
export interface ProbeReport {
  detail: string;
  failure?: string;
}

/** A drill sends at most this many requests: a rate limit above it is not probed (and the step says so). */
export const MOST_PROBES = 100;

/**
 * Checks the drill's correction at the system's real gateway with requests marked as the drill's
 * (`x-correx-drill: <incident id>`), which only the drill's corrections meet: a refusal is refused, a rate
 * limit lets exactly its number through in a minute and refuses the rest, an obligation lets the request
 * through. Requests are made as a segment the correction covers (its first user, tier, use case…).
 */
export async function probeGateway(
  db: Kysely<Database>,
  probe: GatewayProbe & { authorization?: string },
  drill: { incidentId: string; systemId: string; correction: DrillPlan['correction'] },
): Promise<ProbeReport> {
  await untilInstancesHoldDrill(db, drill.incidentId);
  const { kind, scope, parameters } = drill.correction;
  const first = (list: unknown) => (Array.isArray(list) && typeof list[0] === 'string' ? list[0] : undefined);
  const segment: Record<string, string | undefined> = {
    user: parameters.mode === 'allowlist' ? 'correx-drill-probe-outsider' : (first(scope.users) ?? 'correx-drill-probe'),
    org: first(scope.orgs),
    tier: first(scope.tiers),
    region: first(scope.regions),
    useCase: kind === 'use_case_restriction' ? first(parameters.prohibitedUseCases) : first(scope.useCases),
    capability: kind === 'capability_restriction' ? first(parameters.disabledCapabilities) : undefined,
  };
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-correx-drill': drill.incidentId };
  for (const [key, value] of Object.entries(segment)) if (value !== undefined && probe.headers[key]) headers[probe.headers[key]] = value;
  if (probe.authorization) headers.authorization = probe.authorization;
  const body = JSON.stringify(
    probe.body ?? { model: 'correx-drill-probe', user: segment.user, messages: [{ role: 'user', content: 'Correx drill probe: please ignore.' }] },
  );
  const send = async () => {
    try {
      const response = await fetch(probe.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) });
      const text = await response.text();
      return { status: response.status, retryAfter: response.headers.get('retry-after'), text };
    } catch (error) {
      return { status: 0, retryAfter: null, text: (error as Error).message };
    }
  };
  const where = `at ${probe.url} as ${Object.entries(segment)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`;
  const unreachable = (answer: { status: number; text: string }) =>
    answer.status === 0 ? { detail: `no answer ${where}`, failure: `the gateway did not answer: ${answer.text}` } : undefined;

  if (kind === 'rate_limit') {
    const limit = Number(parameters.requestsPerMinute);
    if (!(limit > 0) || limit > MOST_PROBES) return { detail: `not probed: a limit of ${limit} requests a minute is more than a drill sends (${MOST_PROBES})` };
    const answers = [];
    for (let i = 0; i < limit + 2; i++) answers.push(await send());
    const down = answers.find((a) => a.status === 0);
    if (down) return unreachable(down)!;
    const passed = answers.filter((a) => a.status < 300).length;
    const refused = answers.filter((a) => a.status >= 400);
    const statuses = [...new Set(refused.map((a) => a.status))].join(', ');
    const retry = refused.find((a) => a.retryAfter)?.retryAfter;
    const detail = `${passed} of ${answers.length} requests passed, ${refused.length} refused${statuses ? ` with ${statuses}` : ''}${retry ? ` (Retry-After ${retry} s)` : ''} ${where}`;
    const asExpected = answers.slice(0, limit).every((a) => a.status < 300) && answers.slice(limit).every((a) => a.status >= 400);
    return asExpected
      ? { detail: `${detail}: the limit of ${limit} a minute is counted at the gateway` }
      : { detail, failure: `expected the first ${limit} to pass and the rest to be refused: the gateway does not count the limit` };
  }
  const answer = await send();
  if (answer.status === 0) return unreachable(answer)!;
  const refuses = kind === 'shutdown' || kind === 'user_restriction' || kind === 'use_case_restriction' || segment.capability !== undefined;
  if (refuses) {
    const detail = `refused with ${answer.status} ${where}: ${answer.text.slice(0, 300)}`;
    return answer.status >= 400
      ? { detail }
      : { detail: `let through with ${answer.status} ${where}`, failure: 'the gateway let through a request the correction refuses' };
  }
  // Obligations (a filter profile, a model version) travel upstream with the request: out of the drill's sight.
  const detail = `let through with ${answer.status} ${where}; the ${kind === 'rollback' ? 'model version' : 'filter profile'} travels upstream with it`;
  return answer.status < 300
    ? { detail }
    : { detail: `refused with ${answer.status} ${where}: ${answer.text.slice(0, 300)}`, failure: 'the gateway refused a request the correction lets through' };
}

/** Every API instance answering gateways has loaded the drill's corrections (they report it with their heartbeat), or 3 s passed. */
async function untilInstancesHoldDrill(db: Kysely<Database>, incidentId: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    const missing = await db
      .selectFrom('decision_instances')
      .select('instance_id')
      .where('heartbeat_at', '>', sql<Date>`now() - ${`${INSTANCE_SILENCE_MS} milliseconds`}::interval`)
      .where(sql<boolean>`not (versions ? ${`drill:${incidentId}`})`)
      .execute();
    if (missing.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
