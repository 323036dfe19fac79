import { z } from 'zod';
import { InvalidInput } from '../errors.js';
import { SignalInput } from '../monitoring/signal.js';

const Text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

/** The severities a PagerDuty Events API v2 event can carry. */
export const PagerDutySeverity = z.enum(['critical', 'error', 'warning', 'info'], "must be 'critical', 'error', 'warning' or 'info'");

/** A field absent from an event is named by why it is required, not by the type it lacks. */
const requiredFor = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required for ${what}` : undefined) });

/**
 * A moment as PagerDuty takes it: ISO 8601 with a zone (`Z`, `+00:00`, or `+0000` as PagerDuty's own
 * examples write it) or without one (Python's `datetime.utcnow().isoformat()`), which PagerDuty reads
 * as UTC and so does Correx. Passed on in UTC.
 */
export const SenderTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i, 'must be an ISO 8601 timestamp, e.g. 2026-12-02T09:30:00Z')
  .describe('ISO 8601, with a zone (Z, +00:00, +0000) or without one, read as UTC')
  .transform((text) => text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
  .pipe(z.iso.datetime({ offset: true, local: true, message: 'must be an ISO 8601 timestamp, e.g. 2026-12-02T09:30:00Z' }))
  .transform((text) => (/(Z|[+-]\d{2}:\d{2})$/i.test(text) ? text : `${text}Z`))
  .refine((text) => Number.isFinite(Date.parse(text)), 'is not a moment that exists (check the date and the offset)')
  .transform((text) => new Date(text).toISOString());

const payloadFields = {
  summary: Text(1024).min(1, 'is required'),
  source: Text(255).min(1, 'is required'),
  severity: PagerDutySeverity,
  timestamp: SenderTimestamp.optional(),
  component: Text(255).optional(),
  group: Text(255).optional(),
  class: Text(255).optional(),
  custom_details: z.unknown().optional(),
};

/** The fields every event may carry; PagerDuty lets fields it does not know through, and so do we. */
const eventFields = {
  routing_key: z.string().length(32, 'must be the 32-character integration key'),
  dedup_key: Text(255).min(1).optional(),
  payload: z.object(payloadFields).optional(),
  images: z.array(z.object({ src: z.string().min(1), href: z.string().optional(), alt: z.string().optional() })).optional(),
  links: z.array(z.object({ href: z.string().min(1), text: z.string().optional() })).optional(),
  client: z.string().optional(),
  client_url: z.string().optional(),
};

/** An acknowledge or resolve answers the alert its dedup key names, so it cannot be sent without one. */
const answer = <Action extends 'acknowledge' | 'resolve'>(action: Action) =>
  z.object({
    ...eventFields,
    event_action: z.literal(action),
    dedup_key: z
      .string(requiredFor(`${action} events`))
      .min(1)
      .max(255, 'must be at most 255 characters'),
  });

/**
 * PagerDuty Events API v2, as its clients send it. One variant per `event_action`, so that what each
 * action requires (a trigger its payload, an acknowledge or resolve its dedup key) is in the
 * published schema and refused by it, in PagerDuty's error format, before the handler runs.
 */
export const PagerDutyEvent = z.discriminatedUnion(
  'event_action',
  [
    z.object({ ...eventFields, event_action: z.literal('trigger'), payload: z.object(payloadFields, requiredFor('trigger events')) }),
    answer('acknowledge'),
    answer('resolve'),
  ],
  { error: "must be 'trigger', 'acknowledge' or 'resolve'" },
);
export type PagerDutyEvent = z.infer<typeof PagerDutyEvent>;

/** What the first trigger of a dedup key said, so its acknowledge and resolve reach the same trigger and group. */
export interface EarlierTrigger {
  labels: Record<string, string>;
  severity: string | undefined;
}

/**
 * The signal an event stands for. Triggers carry the payload's fields as labels (`source`,
 * `component`, `group`, `class`, `dedup_key`); acknowledge and resolve carry the labels of the trigger
 * they answer, since PagerDuty sends them without a payload.
 */
export function pagerDutySignal(event: PagerDutyEvent, systemId: string, dedupKey: string, earlier: EarlierTrigger | undefined, receivedAt: Date): SignalInput {
  const status = event.event_action === 'trigger' ? 'firing' : event.event_action === 'acknowledge' ? 'acknowledged' : 'resolved';
  const p = event.payload;
  const labels: Record<string, string> = p
    ? {
        source: p.source,
        ...(p.component ? { component: p.component } : {}),
        ...(p.group ? { group: p.group } : {}),
        ...(p.class ? { class: p.class } : {}),
        dedup_key: dedupKey,
      }
    : { ...earlier?.labels, dedup_key: dedupKey };
  const severity = p?.severity ?? earlier?.severity;
  const parsed = SignalInput.safeParse({
    systemId,
    source: 'pagerduty',
    status,
    labels,
    ...(severity ? { severity } : {}),
    ...(p ? { summary: p.summary } : {}),
    at: event.event_action === 'trigger' && p?.timestamp ? p.timestamp : receivedAt.toISOString(),
    alertKey: dedupKey,
  });
  if (!parsed.success) throw InvalidInput.fromZod(parsed.error);
  return parsed.data;
}

/** PagerDuty's answer to an event it took (or, for an alert it has none of, dropped): 202. */
export const PagerDutyAccepted = z.strictObject({
  status: z.literal('success'),
  message: z.literal('Event processed'),
  dedup_key: z.string().describe('The alert the event belongs to: the one sent, or for a trigger without one, the key made for it'),
});

/** PagerDuty's own error body, which its clients parse: 400 `invalid event`, 429 `throttle event`. */
export const PagerDutyError = z.strictObject({
  status: z.enum(['invalid event', 'throttle event']),
  message: z.string(),
  errors: z
    .array(z.string())
    .optional()
    .describe("What is wrong with the event, one sentence each, naming the field in quotes ('dedup_key' is required…); 400 only"),
});
export type PagerDutyError = z.infer<typeof PagerDutyError>;

/** PagerDuty's own 400 body: `errors` as readable strings. */
export function pagerDutyInvalid(errors: { path: string; message: string }[]): PagerDutyError {
  const field = (path: string) => path.replace(/^body\.?/, '');
  return {
    status: 'invalid event',
    message: 'Event object is invalid',
    errors: errors.map((e) => (field(e.path) ? `'${field(e.path)}' ${e.message}` : e.message)),
  };
}
