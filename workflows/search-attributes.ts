import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

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

type PartOf = { incidentId: string; systemId?: string; severity?: string };

/** The attributes that mark a workflow as one of an incident's (see indexAsPartOf). */
export function partOfAttributes(incident: PartOf): SearchAttributePair[] {
  return [
    { key: CorrexIncidentId, value: incident.incidentId },
    ...(incident.systemId ? [{ key: CorrexSystem, value: incident.systemId }] : []),
    ...(incident.severity ? [{ key: CorrexSeverity, value: incident.severity }] : []),
  ];
}

/**
 * Marks a workflow as one of an incident's (the incident itself, its escalation, corrections, clocks and
 * review), so `CorrexIncidentId='<id>'` lists them all; the others also carry its system and severity.
 * A child the incident started with these attributes (childOfIncident) has them already: upserting
 * them again would cost its first workflow task an event and Temporal a visibility write. Children
 * started before carry none and upsert, as their histories say.
 */
export function indexAsPartOf(incident: PartOf): void {
  const given = workflowInfo().typedSearchAttributes;
  if (partOfAttributes(incident).every(({ key, value }) => given.get(key) === value)) return;
  upsertSearchAttributes(partOfAttributes(incident));
}

/** Start options for a child of an incident that is indexed: it starts with its attributes. */
export function childOfIncident(incident: PartOf, indexed: boolean | undefined): { typedSearchAttributes?: SearchAttributePair[] } {
  return indexed ? { typedSearchAttributes: partOfAttributes(incident) } : {};
}
