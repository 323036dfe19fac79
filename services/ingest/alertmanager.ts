import { z } from 'zod';
import { InvalidInput, type FieldError } from '../errors.js';
import { boundedLabels, SignalInput } from '../monitoring/signal.js';

const Labels = z.record(z.string(), z.string());
/** Annotations are free text (descriptions, runbook links), but one payload is still bounded. */
const Annotations = z.record(z.string().max(128), z.string().max(16_384)).refine((a) => Object.keys(a).length <= 64, 'at most 64 annotations');
const AlertStatus = z.enum(['firing', 'resolved']);

const Alert = z.object({
  status: AlertStatus,
  labels: boundedLabels({ emptyNames: 'tolerated' }),
  annotations: Annotations.default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1),
});

/** Alertmanager's webhook body (version 4). Fields Alertmanager may add later are let through. */
export const AlertmanagerWebhook = z.object({
  version: z.literal('4', 'must be "4" (Alertmanager webhook version 4)'),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: AlertStatus,
  receiver: z.string(),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: z.string().optional(),
  alerts: z.array(Alert).min(1, 'must hold at least one alert').max(1000),
});
export type AlertmanagerWebhook = z.infer<typeof AlertmanagerWebhook>;

/** What the webhook answers once every alert is stored (each is handed to its system's monitor next). */
export const AlertmanagerAccepted = z.strictObject({
  accepted: z.number().int().describe('Alerts taken, each as a signal'),
  duplicates: z.number().int().describe('Of those, repeats of an alert already stored (Alertmanager re-sends every repeat_interval), counted once'),
  truncatedAlerts: z.number().int().describe('Alerts Alertmanager left out of this payload (its max_alerts), as it reported them'),
});

const ZERO_TIME = /^0001-01-01T/;

/**
 * One signal per alert. The system is the alert's `system` label, or the one the sender's key is bound
 * to. A repeat of the same alert (Alertmanager re-sends every repeat_interval) has the same
 * idempotency key, so it is stored once; its resolution is a signal of its own.
 */
export function alertmanagerSignals(webhook: AlertmanagerWebhook, boundSystem: string | null): SignalInput[] {
  const errors: FieldError[] = [];
  const signals: SignalInput[] = [];
  webhook.alerts.forEach((alert, index) => {
    const at = `alerts.${index}`;
    const labelled = alert.labels.system;
    const systemId = boundSystem ?? labelled;
    if (!systemId) {
      errors.push({
        path: `${at}.labels.system`,
        message: 'no system: give alerts a `system` label naming a runbook system, or send with an integration key bound to one',
      });
      return;
    }
    if (boundSystem && labelled && labelled !== boundSystem) {
      errors.push({ path: `${at}.labels.system`, message: `this key sends for ${boundSystem} only, not ${labelled}` });
      return;
    }
    const when = alert.status === 'resolved' && alert.endsAt && !ZERO_TIME.test(alert.endsAt) ? alert.endsAt : alert.startsAt;
    const summary = alert.annotations.summary ?? alert.annotations.description ?? webhook.commonAnnotations.summary;
    const parsed = SignalInput.safeParse({
      systemId,
      source: 'alertmanager',
      status: alert.status,
      labels: Object.fromEntries(Object.entries(alert.labels).filter(([name]) => name.length > 0)),
      ...(alert.labels.severity ? { severity: alert.labels.severity.slice(0, 64) } : {}),
      ...(summary ? { summary: summary.slice(0, 1024) } : {}),
      at: when,
      idempotencyKey: `${alert.fingerprint}:${alert.startsAt}:${alert.status}`.slice(0, 255),
      alertKey: alert.fingerprint.slice(0, 255),
    });
    if (parsed.success) signals.push(parsed.data);
    else
      errors.push(
        ...InvalidInput.fromZod(parsed.error, [at]).errors.map((e) =>
          e.path === `${at}.at` ? { path: alert.status === 'resolved' ? `${at}.endsAt` : `${at}.startsAt`, message: e.message } : e,
        ),
      );
  });
  if (errors.length) throw new InvalidInput(errors);
  return signals;
}
