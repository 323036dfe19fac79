import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { parse } from 'yaml';
import type { Database } from '../../services/db/schema.js';
import { crossCheck } from '../../services/runbook/cross-check.js';
import { runbookVersion } from '../../services/runbook/load.js';
import { recordRunbookVersion } from '../../services/runbook/repository.js';
import { Runbook } from '../../services/runbook/schema.js';
import { projectRoot } from './environment.js';

/** A shipped runbook's content as written (before defaults), for a test to adjust. */
export type RunbookContent = Record<string, unknown> & { system: Record<string, unknown> };

export async function shippedRunbook(systemId: string): Promise<RunbookContent> {
  return parse(await readFile(path.join(projectRoot, 'runbooks', `${systemId}.yaml`), 'utf8'));
}

/** Validates runbook content as `correx runbook validate` would and records it as a version, as a trigger does. */
export async function recordRunbook(db: Kysely<Database>, content: Record<string, unknown>): Promise<string> {
  const runbook = Runbook.parse(content);
  const problems = crossCheck(runbook);
  if (problems.length > 0) throw new Error(`test runbook is invalid: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
  const version = runbookVersion(content);
  await recordRunbookVersion(db, { file: 'test', runbook, version });
  return version;
}

/** Nothing listens here: every call to a fallback webhook pointed at it is refused. */
export const deadFallbackUrl = 'http://127.0.0.1:9/llm-fallback';

/** Points one consumer's webhook fallback where nothing listens, so every switch of it fails, throughout. */
export function breakFallbackOf(runbook: RunbookContent, consumerId: string): void {
  const consumer = (runbook.system.consumers as { id: string; fallback: { activation: { url?: string } } }[]).find((c) => c.id === consumerId);
  if (!consumer) throw new Error(`the runbook has no consumer ${consumerId}`);
  consumer.fallback.activation.url = deadFallbackUrl;
}

/** Points every webhook fallback of the runbook's consumers at a test control endpoint, signed with `secretEnv`. */
export function routeFallbacksTo(runbook: RunbookContent, endpointUrl: string, secretEnv: string): void {
  runbook.system.fallbackSecretEnv = secretEnv;
  for (const consumer of runbook.system.consumers as { id: string; fallback: { activation: { method: string; url?: string } } }[]) {
    if (consumer.fallback.activation.method === 'webhook') consumer.fallback.activation.url = `${endpointUrl}/fallback/${consumer.id}`;
  }
}
