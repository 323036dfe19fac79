// Workflow ids, zod-free so workflows can import them.

/** One workflow per open incident of a system and dedup key, so repeats find it. */
export function incidentWorkflowId(systemId: string, dedupKey: string): string {
  return `incident:${systemId}:${dedupKey}`;
}

/** One monitor per system. */
export function monitorWorkflowId(systemId: string): string {
  return `monitor:${systemId}`;
}

/** A correction runs as a child of its incident. */
export function correctionWorkflowId(incidentWorkflowId: string, correctionId: string): string {
  return `${incidentWorkflowId}/correction/${correctionId}`;
}

/** One regulator clock per regime that applies to an incident. */
export function regulatoryClockWorkflowId(incidentWorkflowId: string, regimeId: string, incidentId: string): string {
  return `${incidentWorkflowId}/regime/${regimeId}/${incidentId}`;
}

/** The after-action review of an incident, started at its first resolution. */
export function reviewWorkflowId(incidentWorkflowId: string, incidentId: string): string {
  return `${incidentWorkflowId}/review/${incidentId}`;
}
