/**
 * The runbook task that is the review itself: submitting the review record completes it, so nobody has
 * to mark "write the review" done by hand. Kept apart from the zod schemas (./schema.ts) because the
 * review workflow reads it.
 */
export const reviewTaskId = 'write-review';
