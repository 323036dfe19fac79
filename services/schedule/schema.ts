import { z } from 'zod';
import { IANAZone } from 'luxon';
import { DurationText } from '../duration.js';
import { RunbookId as Id } from '../runbook/id.js';

// An on-call schedule as the runbook declares it. Overrides are not here: they are made while
// running (API, CLI, console) and kept in PostgreSQL (services/schedule/repository.ts).

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

/** A wall-clock time in the schedule's zone, `HH:mm`. */
export const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day such as 09:00');
/** A wall-clock date and time in the schedule's zone, `YYYY-MM-DDTHH:mm`. */
export const LocalDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d$/, 'must be a local date and time such as 2026-11-30T09:00');
export const TimeZone = z.string().refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as Europe/Berlin');

/** A window in which a layer is on call, e.g. business hours; `to` at or before `from` runs past midnight. */
export const Restriction = z.strictObject({
  days: z
    .array(z.enum(weekdays))
    .min(1)
    .default([...weekdays]),
  from: LocalTime,
  to: LocalTime,
});

/**
 * A rotation: members take shifts of `shift` in turn, the first from `start`. Shifts of whole days or
 * weeks hand off at the same wall-clock time across daylight-saving changes; shifts in hours are exact.
 */
export const RotationLayer = z.strictObject({
  id: Id,
  /** Person ids, in the order they take shifts. */
  members: z.array(Id).min(1),
  start: LocalDateTime,
  shift: DurationText,
  /** When given, the layer is on call only inside these windows. */
  restrictions: z.array(Restriction).min(1).optional(),
});

export const Schedule = z.strictObject({
  /** Unique across every runbook: `/v1/schedules/:id` names it alone. */
  id: Id,
  name: z.string().min(1),
  /** Where hand-off times, starts and restrictions are read. */
  timeZone: TimeZone,
  /** A later layer wins wherever it has someone on call (as in PagerDuty). */
  layers: z.array(RotationLayer).min(1),
  /** Who is on call where no layer and no override covers. */
  fallback: Id.optional(),
});

export type Schedule = z.infer<typeof Schedule>;
export type RotationLayer = z.infer<typeof RotationLayer>;
export type Restriction = z.infer<typeof Restriction>;
