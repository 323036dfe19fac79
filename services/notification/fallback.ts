import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Mailer } from './mailer.js';
import { recordFallbackSwitched, recordFallbackSwitching } from './repository.js';
import { fallbackRequest, type IncidentRef } from './templates.js';
import type { DownstreamConsumerPlan } from '../incident/plan.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import { EnforcementFailure, signWebhook } from '../correction/enforcement.js';

export interface FallbackSwitch {
  incident: IncidentRef;
  correctionId: string;
  consumer: DownstreamConsumerPlan;
  action: 'activate' | 'deactivate';
}

/**
 * Switches a downstream consumer's fallback on or off, once per correction, consumer and action.
 * Webhook: a signed POST with an idempotency key, then `GET <url>/<correction id>` must answer
 * `{ "active": true | false }`. Email and manual: the consumer's contact is asked to do it.
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

  if (deps.drill) {
    // A drill rehearses the switch on the timeline; the consumer's real fallback is never touched.
  } else if (activation.method === 'webhook') {
    const secret = deps.secretEnv ? deps.secret(deps.secretEnv) : undefined;
    if (!secret)
      throw new EnforcementFailure(
        deps.secretEnv
          ? `no secret to sign the fallback webhook of ${s.consumer.id}: ${deps.secretEnv} (system.fallbackSecretEnv, or the enforcer's secretEnv when unset) is not set where the worker runs`
          : `no secret to sign the fallback webhook of ${s.consumer.id}: set system.fallbackSecretEnv in the runbook`,
      );
    const body = JSON.stringify({
      action: s.action,
      consumer: s.consumer.id,
      correctionId: s.correctionId,
      incidentId: s.incident.incidentId,
      systemId: s.incident.systemId,
    });
    const response = await fetch(activation.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, 'correx-signature': signWebhook(secret, body, Math.floor(Date.now() / 1000)) },
      body,
      signal: AbortSignal.timeout(10_000),
    }).catch((error: unknown) => {
      throw new EnforcementFailure(`fallback ${s.action} for ${s.consumer.id}: ${activation.url} unreachable: ${(error as Error).message}`);
    });
    if (!response.ok) throw new EnforcementFailure(`fallback ${s.action} for ${s.consumer.id}: ${activation.url} answered ${response.status}`);
    const check = await fetch(`${activation.url.replace(/\/$/, '')}/${encodeURIComponent(s.correctionId)}`, {
      headers: { 'correx-signature': signWebhook(secret, '', Math.floor(Date.now() / 1000)) },
      signal: AbortSignal.timeout(10_000),
    });
    const state = check.ok ? ((await check.json()) as { active?: unknown }) : {};
    if (state.active !== (s.action === 'activate'))
      throw new EnforcementFailure(`fallback ${s.action} for ${s.consumer.id} not confirmed by ${activation.url}`);
  } else {
    const instructions = activation.method === 'manual' ? activation.instructions : s.consumer.fallback.description;
    const to = activation.method === 'email' ? activation.to : s.consumer.contact.email;
    const message = fallbackRequest(s.incident, { name: s.consumer.name, fallback: s.consumer.fallback.description, instructions }, s.action);
    await deps.mailer.send({ to, ...message, idempotencyKey: key });
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
        ...(deps.drill ? { drill: true } : activation.method === 'webhook' ? { verified: true } : { requestedBy: 'email' }),
      },
      idempotencyKey: key,
    }),
  );
}
