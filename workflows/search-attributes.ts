import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';

// The names services/temporal/search-attributes.ts registers.
const CorrexSystem = defineSearchAttributeKey('CorrexSystem', SearchAttributeType.KEYWORD);
const CorrexSeverity = defineSearchAttributeKey('CorrexSeverity', SearchAttributeType.KEYWORD);
const CorrexState = defineSearchAttributeKey('CorrexState', SearchAttributeType.KEYWORD);

/** Keeps an incident findable by system, severity and state in Temporal's UI and CLI. */
export function indexIncident(incident: { systemId: string; severity: string; state: string }): void {
  upsertSearchAttributes([
    { key: CorrexSystem, value: incident.systemId },
    { key: CorrexSeverity, value: incident.severity },
    { key: CorrexState, value: incident.state },
  ]);
}
