export const sectionIds = ['trigger', 'approval', 'gateways', 'ingestion', 'export', 'scale', 'cli-startup'] as const;
export type SectionId = (typeof sectionIds)[number];

/** One measured figure, with its baseline when it has one. */
export interface Figure {
  metric: string;
  unit: 'ms' | 'payloads/s' | 'events/s' | 'requests/s' | 'MB' | 'count' | 's';
  value: number;
  baseline?: number;
  /**
   * value ÷ baseline. `times` for latencies (how many times the baseline's), `percent` for
   * throughputs (what share of the baseline's).
   */
  ratio?: number;
  ratioStyle?: 'times' | 'percent';
  /** The target this figure is held to, and whether it was met. */
  target?: string;
  met?: boolean;
  /** The ratio's 90 % interval over resamples of this run's own samples (stats.ts, ratioInterval), and whether all of it meets the target. */
  interval?: { low: number; high: number; met: boolean };
}

export interface SectionResult {
  id: SectionId;
  title: string;
  measuredAt: string;
  seconds: number;
  quick: boolean;
  parameters: Record<string, number | string>;
  figures: Figure[];
  notes: string[];
  /** os.loadavg() when the section started. */
  loadAverage?: number[];
  /** Raw distributions and counts behind the figures. */
  details?: Record<string, unknown>;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
  postgres: string;
  temporalCli: string;
  loadAverageAtStart: number[];
}

export interface Results {
  generatedAt: string;
  command: string;
  runtimeSeconds: number;
  machine: Machine;
  sections: Partial<Record<SectionId, SectionResult>>;
  /** Later `--only` runs whose sections replaced this run's. */
  updates?: { generatedAt: string; command: string; runtimeSeconds: number; sections: SectionId[] }[];
}

export function latencyFigure(
  metric: string,
  value: number,
  baseline: number | undefined,
  target?: { factor: number; interval?: { low: number; high: number } },
): Figure {
  const figure: Figure = { metric, unit: 'ms', value };
  if (baseline !== undefined && Number.isFinite(baseline) && baseline > 0) {
    figure.baseline = baseline;
    figure.ratio = value / baseline;
    figure.ratioStyle = 'times';
    if (target) {
      figure.target = `≤ ${target.factor}× baseline`;
      figure.met = figure.ratio <= target.factor;
      if (target.interval) figure.interval = { ...target.interval, met: target.interval.high <= target.factor };
    }
  }
  return figure;
}

export function throughputFigure(metric: string, unit: Figure['unit'], value: number, baseline: number, target?: { share: number }): Figure {
  const figure: Figure = { metric, unit, value, baseline, ratio: value / baseline, ratioStyle: 'percent' };
  if (target) {
    figure.target = `≥ ${Math.round(target.share * 100)} % of baseline`;
    figure.met = figure.ratio! >= target.share;
  }
  return figure;
}
