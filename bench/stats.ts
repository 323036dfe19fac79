import { readFile } from 'node:fs/promises';

/** Percentile by linear interpolation between closest ranks (as PostgreSQL's percentile_cont). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

export function distribution(values: number[]): Distribution {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    // Not Math.min(...values): a 30 s load against a bare route gives more samples than the stack holds.
    min: values.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY),
    max: values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY),
    mean: values.reduce((a, b) => a + b, 0) / Math.max(1, values.length),
  };
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** A process's resident memory now and at its peak, from /proc (Linux), in kB. */
export async function residentMemory(pid: number): Promise<{ rssKb: number; peakKb: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? Number.NaN);
    return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * How far a percentile ratio (samples ÷ baseline at percentile `p`) could move with other samples of
 * the same run: the 5th and 95th percentiles of the ratio over `rounds` bootstrap resamples of both
 * sets. A p99 of 200 samples rests on its two largest, so one run's figure alone says little about
 * whether a target at p99 is met; this says how much. The generator is seeded: the same samples
 * give the same interval.
 */
export function ratioInterval(samples: number[], baseline: number[], p: number, rounds = 2000): { low: number; high: number } {
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const resample = (values: number[]) => values.map(() => values[Math.floor(random() * values.length)]!);
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) ratios.push(percentile(resample(samples), p) / percentile(resample(baseline), p));
  return { low: percentile(ratios, 5), high: percentile(ratios, 95) };
}
