import { patched } from '@temporalio/workflow';

/**
 * A workflow's patches, taken together by a run started from this code. For each patch a new run
 * passes, the SDK records a marker and upserts TemporalChangeVersion: two history events and a
 * visibility write on the server, per patch, per run. A run started from this code takes the one
 * generation patch instead, which stands for every patch of the workflow written before it; a run
 * started before (no generation marker in its history) asks for each patch where it always did, so it
 * replays as it ran.
 *
 * A generation that follows another names it with the patches written between the two: a run of the
 * previous generation asks for those one by one, and for the older ones through its own generation.
 *
 * Only patches written before the generation go through it. A patch added later is asked for with
 * `patched()` itself: runs of this generation never passed it, so the generation cannot answer for it.
 */
export function patchGeneration(generation: string, previous?: { generation: string; patchesSince: readonly string[] }): (patch: string) => boolean {
  const current = patched(generation);
  if (current || !previous) return (patch) => current || patched(patch);
  const earlier = patchGeneration(previous.generation);
  return (patch) => (previous.patchesSince.includes(patch) ? patched(patch) : earlier(patch));
}
