import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';

// The names services/temporal/search-attributes.ts registers.
const CorrexSystem = defineSearchAttributeKey('CorrexSystem', SearchAttributeType.KEYWORD);
const CorrexSeverity = defineSearchAttributeKey('CorrexSeverity', SearchAttributeType.KEYWORD);
const CorrexState = defineSearchAttributeKey('CorrexState', SearchAttributeType.KEYWORD);
const CorrexIncidentId = defineSearchAttributeKey('CorrexIncidentId', SearchAttributeType.KEYWORD);

/** Keeps an incident findable by system, severity and state in Temporal's UI and CLI. */
export function indexIncident(incident: { systemId: string; severity: string; state: string }): void {
  upsertSearchAttributes([
    { key: CorrexSystem, value: incident.systemId },
    { key: CorrexSeverity, value: incident.severity },
    { key: CorrexState, value: incident.state },
  ]);
}

/**
 * Marks a workflow as one of an incident's (the incident itself, its escalation, corrections, clocks and
 * review), so `CorrexIncidentId='<id>'` lists them all; the others also carry its system and severity.
 */
export function indexAsPartOf(incident: { incidentId: string; systemId?: string; severity?: string }): void {
  upsertSearchAttributes([
    { key: CorrexIncidentId, value: incident.incidentId },
    ...(incident.systemId ? [{ key: CorrexSystem, value: incident.systemId }] : []),
    ...(incident.severity ? [{ key: CorrexSeverity, value: incident.severity }] : []),
  ]);
}
