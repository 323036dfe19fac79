import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Mailer } from './mailer.js';
import { recordFallbackSwitched, recordFallbackSwitching } from './repository.js';
import { fallbackRequest, type IncidentRef } from './templates.js';
import type { DownstreamConsumerPlan } from '../incident/plan.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import { EnforcementFailure, signWebhook } from '../correction/enforcement.js';
import { drillFallbackReceiver } from '../drill/fallback-receiver.js';

export interface FallbackSwitch {
  incident: IncidentRef;
  correctionId: string;
  consumer: DownstreamConsumerPlan;
  action: 'activate' | 'deactivate';
}

/** What an endpoint said when it refused, if it said it in words: `: <its error>`, at most 200 characters. */
async function reason(response: Response): Promise<string> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text().catch(() => '');
  let said = '';
  if (type.includes('json')) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      said = [parsed.error, parsed.detail, parsed.title].find((v): v is string => typeof v === 'string') ?? '';
    } catch {
      // Not the JSON it declared: nothing to quote.
    }
  } else if (type.includes('text/plain')) said = text;
  said = said.trim().replace(/\s+/g, ' ');
  return said ? `: ${said.slice(0, 200)}` : '';
}

/**
 * Switches a downstream consumer's fallback on or off, once per correction, consumer and action.
 * Webhook: a signed POST with an idempotency key, then `GET <url>/<correction id>` must answer
 * `{ "active": true | false }`. Email and manual: the consumer's contact is asked to do it.
 * A drill goes the same way to a drill target (its mail through the drill mailer), so a missing
 * secret or a refusing endpoint fails the drill as it would fail the incident.
 */
export async function switchFallback(
  deps: { db: Kysely<Database>; mailer: Mailer; secret: (name: string) => string | undefined; secretEnv: string | undefined; drill?: boolean },
  s: FallbackSwitch,
): Promise<void> {
  const { db } = deps;
  const activation = s.consumer.fallback.activation;
  const key = `${s.correctionId}:${s.consumer.id}:fallback-${s.action}`;
  await recordFallbackSwitching(db, {
    incidentId: s.incident.incidentId,
    correctionId: s.correctionId,
    consumerId: s.consumer.id,
    method: activation.method,
    action: s.action,
  });

  let switched: Record<string, unknown>;
  if (activation.method === 'webhook') {
    const secret = deps.secretEnv ? deps.secret(deps.secretEnv) : undefined;
    if (!secret)
      throw new EnforcementFailure(
        deps.secretEnv
          ? `no secret to sign the fallback webhook of ${s.consumer.id}: ${deps.secretEnv} (system.fallbackSecretEnv, or the enforcer's secretEnv when unset) is not set where the worker runs`
          : `no secret to sign the fallback webhook of ${s.consumer.id}: set system.fallbackSecretEnv in the runbook`,
      );
    // A drill sends the same signed request and reads it back the same way, to a drill target: the
    // consumer's own endpoint when the runbook says it takes drills, else Correx's dry-run receiver.
    const target = !deps.drill
      ? { url: activation.url, named: activation.url }
      : activation.drill === 'real-endpoint'
        ? { url: activation.url, named: `${activation.url} (marked as a drill)` }
        : { url: (await drillFallbackReceiver(deps.secret)).url(deps.secretEnv!, s.consumer.id), named: "Correx's dry-run receiver" };
    const body = JSON.stringify({
      action: s.action,
      consumer: s.consumer.id,
      correctionId: s.correctionId,
      incidentId: s.incident.incidentId,
      systemId: s.incident.systemId,
      ...(deps.drill ? { drill: true } : {}),
    });
    const drillMarker: Record<string, string> = deps.drill ? { 'correx-drill': 'true' } : {};
    const response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': key,
        'correx-signature': signWebhook(secret, body, Math.floor(Date.now() / 1000)),
        ...drillMarker,
      },
      body,
      signal: AbortSignal.timeout(10_000),
    }).catch((error: unknown) => {
      throw new EnforcementFailure(`fallback ${s.action} for ${s.consumer.id}: ${target.named} unreachable: ${(error as Error).message}`);
    });
    if (!response.ok)
      throw new EnforcementFailure(`fallback ${s.action} for ${s.consumer.id}: ${target.named} answered ${response.status}${await reason(response)}`);
    const check = await fetch(`${target.url.replace(/\/$/, '')}/${encodeURIComponent(s.correctionId)}`, {
      headers: { 'correx-signature': signWebhook(secret, '', Math.floor(Date.now() / 1000)), ...drillMarker },
      signal: AbortSignal.timeout(10_000),
    }).catch((error: unknown) => {
      throw new EnforcementFailure(`fallback ${s.action} for ${s.consumer.id}: reading it back from ${target.named}: unreachable: ${(error as Error).message}`);
    });
    const state = check.ok ? ((await check.json().catch(() => ({}))) as { active?: unknown }) : {};
    if (state.active !== (s.action === 'activate'))
      throw new EnforcementFailure(
        `fallback ${s.action} for ${s.consumer.id} not confirmed by ${target.named}: ${check.ok ? `it reads back ${JSON.stringify(state)}` : `the read-back answered ${check.status}${await reason(check)}`}`,
      );
    switched = deps.drill ? { drill: true, target: target.named, verified: true } : { verified: true };
  } else {
    const instructions = activation.method === 'manual' ? activation.instructions : s.consumer.fallback.description;
    const to = activation.method === 'email' ? activation.to : s.consumer.contact.email;
    const message = fallbackRequest(s.incident, { name: s.consumer.name, fallback: s.consumer.fallback.description, instructions }, s.action);
    await deps.mailer.send({ to, ...message, idempotencyKey: key });
    switched = deps.drill ? { drill: true, requestedBy: 'email' } : { requestedBy: 'email' };
  }

  await recordFallbackSwitched(db, { correctionId: s.correctionId, consumerId: s.consumer.id, action: s.action });
  await withIncidentLock(db, s.incident.incidentId, (trx) =>
    appendTimelineEvent(trx, {
      incidentId: s.incident.incidentId,
      kind: s.action === 'activate' ? 'fallback.activated' : 'fallback.deactivated',
      actor: 'system:fallback',
      occurredAt: new Date(),
      data: {
        consumer: s.consumer.id,
        method: activation.method,
        correctionId: s.correctionId,
        ...switched,
      },
      idempotencyKey: key,
    }),
  );
}
