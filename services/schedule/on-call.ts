import { DateTime } from 'luxon';
import { parseDuration } from '../duration.js';
import { weekdays, type RotationLayer, type Schedule } from './schema.js';

// Who is on call under a schedule, as pure functions of the schedule, its overrides and an instant:
// no clock is read here, so the same question always has the same answer (API, escalation paging,
// calendar feeds and `runbook validate` all ask these).

/** A person put on call for a while in place of whoever the layers say, made through the API, CLI or console. */
export interface Override {
  id: string;
  person: string;
  startsAt: Date;
  endsAt: Date;
  reason: string;
  createdBy: string;
  createdAt: Date;
  /** A cancelled override no longer counts. */
  cancelledAt?: Date | null;
  cancelledBy?: string | null;
}

export type OnCallSource = { kind: 'layer'; layer: string } | { kind: 'override'; overrideId: string; by: string; reason: string } | { kind: 'fallback' };

/** Who is on call, and the span over which that same answer holds. */
export interface OnCall {
  person: string;
  since: Date;
  until: Date;
  source: OnCallSource;
}

/** A span that no layer and no override covers: the fallback person's, or nobody's. */
export interface CoverageGap {
  since: Date;
  until: Date;
  /** Who covers it instead: the schedule's fallback, or undefined when nobody is on call. */
  fallback: string | undefined;
}

const dayMs = 86_400_000;
const weekMs = 7 * dayMs;

/** How far around an instant `onCallAt` looks for where its answer began and ends; a span reaching further is cut there. */
export const spanHorizonMs = 8 * weekMs;
/** How far ahead `nextHandOff` looks. */
export const handOffHorizonMs = 8 * weekMs;

interface Segment {
  start: number;
  end: number;
  person: string;
}

/** A shift length in milliseconds, and in whole days when it is one (those hand off at the same wall-clock time). */
function shiftLength(layer: RotationLayer): { ms: number; days: number | undefined } {
  const ms = parseDuration(layer.shift);
  if (ms === undefined || ms <= 0) throw new Error(`layer '${layer.id}': shift '${layer.shift}' is not a positive duration`);
  return { ms, days: ms % dayMs === 0 ? ms / dayMs : undefined };
}

function layerStart(layer: RotationLayer, zone: string): DateTime {
  // A start inside a daylight-saving gap moves forward by the gap, as Luxon does for any such local time.
  return DateTime.fromISO(layer.start, { zone });
}

/** The layer's shifts that overlap [from, to), unclipped, with who takes each. */
function shifts(layer: RotationLayer, zone: string, from: number, to: number): Segment[] {
  const { ms, days } = shiftLength(layer);
  const start = layerStart(layer, zone);
  const startMs = start.toMillis();
  if (to <= startMs) return [];
  const begin = (k: number): number => (days === undefined ? startMs + k * ms : start.plus({ days: k * days }).toMillis());
  // The shift holding `from` (or the first one): estimated in absolute time, then corrected for
  // daylight-saving changes, which move wall-clock shifts by at most a few hours.
  let k = Math.max(0, Math.floor((from - startMs) / ms));
  while (k > 0 && begin(k) > from) k--;
  while (begin(k + 1) <= from) k++;
  const out: Segment[] = [];
  const n = layer.members.length;
  for (let s = begin(k); s < to; k++) {
    const e = begin(k + 1);
    out.push({ start: s, end: e, person: layer.members[k % n]! });
    s = e;
  }
  return out;
}

/** The layer's restriction windows that overlap [from, to), merged and sorted; undefined when it has none. */
function windows(layer: RotationLayer, zone: string, from: number, to: number): { start: number; end: number }[] | undefined {
  if (!layer.restrictions) return undefined;
  const spans: { start: number; end: number }[] = [];
  // A window belongs to the day it starts on, and runs at most a day: begin the day before `from`.
  let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 });
  const last = DateTime.fromMillis(to, { zone }).startOf('day');
  for (; day <= last; day = day.plus({ days: 1 })) {
    const weekday = weekdays[day.weekday - 1]!;
    for (const restriction of layer.restrictions) {
      if (!restriction.days.includes(weekday)) continue;
      const [fh, fm] = restriction.from.split(':').map(Number) as [number, number];
      const [th, tm] = restriction.to.split(':').map(Number) as [number, number];
      const startAt = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour: fh, minute: fm }, { zone });
      const endDay = th * 60 + tm <= fh * 60 + fm ? day.plus({ days: 1 }) : day;
      const endAt = DateTime.fromObject({ year: endDay.year, month: endDay.month, day: endDay.day, hour: th, minute: tm }, { zone });
      const start = startAt.toMillis();
      const end = endAt.toMillis();
      if (end > from && start < to && end > start) spans.push({ start, end });
    }
  }
  spans.sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const span of spans) {
    const previous = merged.at(-1);
    if (previous && span.start <= previous.end) previous.end = Math.max(previous.end, span.end);
    else merged.push({ ...span });
  }
  return merged;
}

/** When and who a layer has on call within [from, to), clipped to it and to the layer's restrictions. */
export function layerSegments(schedule: Schedule, layer: RotationLayer, from: number, to: number): Segment[] {
  const raw = shifts(layer, schedule.timeZone, from, to);
  const allowed = windows(layer, schedule.timeZone, from, to);
  const out: Segment[] = [];
  for (const shift of raw) {
    const start = Math.max(shift.start, from);
    const end = Math.min(shift.end, to);
    if (end <= start) continue;
    if (!allowed) {
      out.push({ start, end, person: shift.person });
      continue;
    }
    for (const window of allowed) {
      const s = Math.max(start, window.start);
      const e = Math.min(end, window.end);
      if (e > s) out.push({ start: s, end: e, person: shift.person });
    }
  }
  return out;
}

function activeOverrides(overrides: readonly Override[]): Override[] {
  // Where overrides overlap, the one made last wins.
  return overrides
    .filter((o) => !o.cancelledAt && o.endsAt.getTime() > o.startsAt.getTime())
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

interface Piece {
  start: number;
  end: number;
  person: string | undefined;
  source: OnCallSource | undefined;
  /** True where no layer and no override has anyone (the fallback's or nobody's). */
  gap: boolean;
}

function sameSource(a: OnCallSource | undefined, b: OnCallSource | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind === 'layer' && b.kind === 'layer') return a.layer === b.layer;
  if (a.kind === 'override' && b.kind === 'override') return a.overrideId === b.overrideId;
  return a.kind === b.kind;
}

/** The whole of [from, to) cut into pieces with one answer each, neighbours with the same answer merged. */
function timeline(schedule: Schedule, overrides: readonly Override[], from: number, to: number): Piece[] {
  if (!(to > from)) return [];
  const layers = schedule.layers.map((layer) => ({ id: layer.id, segments: layerSegments(schedule, layer, from, to), next: 0 }));
  const active = activeOverrides(overrides).filter((o) => o.endsAt.getTime() > from && o.startsAt.getTime() < to);
  const cuts = new Set<number>([from, to]);
  for (const layer of layers) for (const segment of layer.segments) cuts.add(segment.start).add(segment.end);
  for (const o of active) {
    cuts.add(Math.max(from, o.startsAt.getTime()));
    cuts.add(Math.min(to, o.endsAt.getTime()));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const pieces: Piece[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i]!;
    const end = points[i + 1]!;
    let piece: Piece | undefined;
    const override = active.find((o) => o.startsAt.getTime() <= start && start < o.endsAt.getTime());
    if (override) {
      piece = {
        start,
        end,
        person: override.person,
        source: { kind: 'override', overrideId: override.id, by: override.createdBy, reason: override.reason },
        gap: false,
      };
    }
    // Later layers win wherever they have someone.
    for (let l = layers.length - 1; l >= 0; l--) {
      const layer = layers[l]!;
      while (layer.next < layer.segments.length && layer.segments[layer.next]!.end <= start) layer.next++;
      const segment = layer.segments[layer.next];
      if (!piece && segment && segment.start <= start) piece = { start, end, person: segment.person, source: { kind: 'layer', layer: layer.id }, gap: false };
    }
    piece ??= { start, end, person: schedule.fallback, source: schedule.fallback === undefined ? undefined : { kind: 'fallback' }, gap: true };
    const previous = pieces.at(-1);
    if (previous && previous.end === start && previous.person === piece.person && sameSource(previous.source, piece.source)) previous.end = end;
    else pieces.push(piece);
  }
  return pieces;
}

function asOnCall(piece: Piece): OnCall | undefined {
  if (piece.person === undefined || piece.source === undefined) return undefined;
  return { person: piece.person, since: new Date(piece.start), until: new Date(piece.end), source: piece.source };
}

/**
 * Who is on call at `at`: an override's person, else the last layer with someone on call, else the
 * fallback; undefined when nobody is. `since` and `until` bound the span over which this same answer
 * (person and source) holds, looked for at most `spanHorizonMs` either side of `at`.
 */
export function onCallAt(schedule: Schedule, overrides: readonly Override[], at: Date): OnCall | undefined {
  const t = at.getTime();
  // A week around `at` first: a span that ends inside the window is known whole; one that reaches its edge is looked at again, wider.
  for (const horizon of [weekMs, spanHorizonMs]) {
    const piece = timeline(schedule, overrides, t - horizon, t + horizon).find((p) => p.start <= t && t < p.end);
    if (!piece) return undefined;
    if ((piece.start > t - horizon && piece.end < t + horizon) || horizon === spanHorizonMs) return asOnCall(piece);
  }
  return undefined;
}

/** Who is on call from `from` to `to`, span by span, in order; where nobody is (no fallback), there is no span. */
export function shiftsBetween(schedule: Schedule, overrides: readonly Override[], from: Date, to: Date): OnCall[] {
  return timeline(schedule, overrides, from.getTime(), to.getTime()).flatMap((piece) => asOnCall(piece) ?? []);
}

/** The spans in [from, to) that no layer and no override covers, with the fallback person who covers them (if any). */
export function coverageGaps(schedule: Schedule, overrides: readonly Override[], from: Date, to: Date): CoverageGap[] {
  const gaps: CoverageGap[] = [];
  for (const piece of timeline(schedule, overrides, from.getTime(), to.getTime())) {
    if (!piece.gap) continue;
    const previous = gaps.at(-1);
    if (previous && previous.until.getTime() === piece.start) previous.until = new Date(piece.end);
    else gaps.push({ since: new Date(piece.start), until: new Date(piece.end), fallback: schedule.fallback });
  }
  return gaps;
}

/**
 * The first instant after `after` at which the person on call changes (someone else, or nobody
 * any more, or someone after nobody), looked for within `horizonMs`; undefined when it stays the same.
 */
export function nextHandOff(schedule: Schedule, overrides: readonly Override[], after: Date, horizonMs: number = handOffHorizonMs): Date | undefined {
  const t = after.getTime();
  // The first change within a week is the first change: most schedules hand off within one.
  for (const horizon of [Math.min(weekMs, horizonMs), horizonMs]) {
    const pieces = timeline(schedule, overrides, t, t + horizon);
    // The pieces cover the whole span, nobody's included, so the first one holds `after`.
    const current = pieces[0]?.person;
    const next = pieces.find((piece) => piece.person !== current);
    if (next) return new Date(next.start);
  }
  return undefined;
}
