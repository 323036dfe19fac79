import { z } from 'zod';
import { Runbook } from './schema.js';

/** The runbook's JSON Schema (draft 2020-12), generated from the zod schema, for editors' YAML language servers. */
export function runbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Runbook, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://correx.dev/schemas/runbook.schema.json',
    title: 'Correx runbook',
    description: 'One AI system: severities, triggers, escalation, decision authority, correction playbook, notifications and post-incident template.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}
