import { z } from 'zod';
import { InvalidInput } from '../errors.js';
import { SignalInput } from '../monitoring/signal.js';

const Text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

/** PagerDuty Events API v2, as its clients send it. */
export const PagerDutyEvent = z
  .object({
    routing_key: z.string().length(32, 'must be the 32-character integration key'),
    event_action: z.enum(['trigger', 'acknowledge', 'resolve'], "must be 'trigger', 'acknowledge' or 'resolve'"),
    dedup_key: Text(255).min(1).optional(),
    payload: z
      .object({
        summary: Text(1024).min(1, 'is required'),
        source: Text(255).min(1, 'is required'),
        severity: z.enum(['critical', 'error', 'warning', 'info'], "must be 'critical', 'error', 'warning' or 'info'"),
        timestamp: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp' }).optional(),
        component: Text(255).optional(),
        group: Text(255).optional(),
        class: Text(255).optional(),
        custom_details: z.unknown().optional(),
      })
      .optional(),
    images: z.array(z.object({ src: z.string().min(1), href: z.string().optional(), alt: z.string().optional() })).optional(),
    links: z.array(z.object({ href: z.string().min(1), text: z.string().optional() })).optional(),
    client: z.string().optional(),
    client_url: z.string().optional(),
  })
  .superRefine((event, ctx) => {
    if (event.event_action === 'trigger' && !event.payload) ctx.addIssue({ code: 'custom', path: ['payload'], message: 'is required for trigger events' });
    if (event.event_action !== 'trigger' && !event.dedup_key)
      ctx.addIssue({ code: 'custom', path: ['dedup_key'], message: `is required for ${event.event_action} events` });
  });
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
  });
  if (!parsed.success) throw InvalidInput.fromZod(parsed.error);
  return parsed.data;
}

/** PagerDuty's own 400 body: `errors` as readable strings. */
export function pagerDutyInvalid(errors: { path: string; message: string }[]) {
  const field = (path: string) => path.replace(/^body\.?/, '');
  return {
    status: 'invalid event',
    message: 'Event object is invalid',
    errors: errors.map((e) => (field(e.path) ? `'${field(e.path)}' ${e.message}` : e.message)),
  };
}
