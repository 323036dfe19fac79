// Workflow ids, zod-free so workflows can import them.

/** One workflow per open incident of a system and dedup key, so repeats find it. */
export function incidentWorkflowId(systemId: string, dedupKey: string): string {
  return `incident:${systemId}:${dedupKey}`;
}

/** One monitor per system. */
export function monitorWorkflowId(systemId: string): string {
  return `monitor:${systemId}`;
}
