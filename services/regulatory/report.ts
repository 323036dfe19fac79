import { capitalised, correctionInWords, momentInWords } from '../correction/wording.js';
import type { FieldError } from '../errors.js';
import type { CorrectionRow, IncidentRow } from '../db/schema.js';
import type { AiSystem } from '../runbook/schema.js';
import type { Regime, RegulatoryClock } from './regime.js';

// A regulator report's content. Pure (no I/O): the draft activity, the API, the CLI's server side and the
// console all build a report's fields here, so that what compliance sees is what is sent.

export interface ReportContext {
  incident: IncidentRow;
  system: AiSystem;
  corrections: CorrectionRow[];
  regime: Regime;
  clock: RegulatoryClock;
  occurrence: number;
  awarenessAt: string;
  dueAt: string;
}

/**
 * What drafts stored for a field Correx could not fill before drafts marked such fields missing. A
 * report drafted then still holds it: it is read as missing, never sent.
 */
export const LEGACY_PLACEHOLDER = '(to be completed by compliance)';

/** The lines every report opens with: always derived from the incident and its clock, never edited. */
export const headerFieldNames = ['Regime', 'Report', 'Incident', 'Deployer / provider', 'Aware since', 'Due by'] as const;

/** What Correx derives from the incident as it stands: the header, and each regime field it can fill. */
export interface DerivedReport {
  header: Record<string, string>;
  /** The regime's fields Correx can fill; one absent here is missing until compliance fills it. */
  content: Record<string, string>;
}

const iso = (d: Date) => d.toISOString();

/**
 * What each correction does, in words, and when it was in force: facts a regulator can read. The
 * proposer's reason is internal and stays out (compliance may add to it).
 */
function correctionsInWords(corrections: CorrectionRow[], system: string): string {
  if (corrections.length === 0) return 'none yet (no correction has been proposed)';
  return corrections
    .map((k) => {
      const what = capitalised(correctionInWords(k.kind, k.scope, k.parameters, system));
      const when = k.lifted_at
        ? `in force from ${momentInWords(iso(k.applied_at ?? k.lifted_at))} to ${momentInWords(iso(k.lifted_at))}`
        : k.applied_at
          ? `in force since ${momentInWords(iso(k.applied_at))}`
          : `${k.state}, not in force`;
      return `${what}: ${when}.`;
    })
    .join('\n');
}

/** The incident's recorded moments, oldest first: opening, acknowledgement, corrections, mitigation, resolution. */
function chainOfEvents(incident: IncidentRow, corrections: CorrectionRow[]): string {
  const moments: [Date, string][] = [[incident.opened_at, `opened: ${incident.title}`]];
  if (incident.acknowledged_at) moments.push([incident.acknowledged_at, 'acknowledged']);
  for (const k of corrections) {
    moments.push([k.proposed_at, `${k.kind} proposed`]);
    if (k.applied_at) moments.push([k.applied_at, `${k.kind} applied`]);
    if (k.lifted_at) moments.push([k.lifted_at, `${k.kind} lifted`]);
  }
  if (incident.mitigated_at) moments.push([incident.mitigated_at, 'mitigated']);
  if (incident.resolved_at) moments.push([incident.resolved_at, 'resolved']);
  return moments
    .sort((a, b) => a[0].getTime() - b[0].getTime())
    .map(([at, what]) => `${iso(at)} ${what}`)
    .join('\n');
}

/**
 * The report's header and the regime fields Correx can fill from the incident as it stands. A field
 * it cannot know (effects, people affected, a DPO's contact…) is left out: missing, for compliance.
 */
export function deriveReport(c: ReportContext): DerivedReport {
  const { incident, system, corrections, regime, clock } = c;
  const remedial = correctionsInWords(corrections, system.name);
  const known: Record<string, string> = {
    authority: regime.recipient,
    'report type': clock.report,
    'AI system identity and versions': `${system.name} (${system.id}), model ${system.model.name} ${system.model.version}`,
    'model involved': `${system.model.name} ${system.model.version}`,
    'what happened': incident.title,
    'chain of events': chainOfEvents(incident, corrections),
    'remedial actions': remedial,
    response: remedial,
    measures: remedial,
    'measures taken': remedial,
    mitigation: remedial,
    date: incident.opened_at.toISOString().slice(0, 10),
    'start and end dates': `${iso(incident.opened_at)} - ${incident.resolved_at ? iso(incident.resolved_at) : 'ongoing'}`,
    'nature of the breach': incident.title,
    nature: incident.title,
    description: incident.title,
    severity: incident.severity,
    timing: `aware ${c.awarenessAt}`,
  };
  if (incident.classification.length) known['incident class'] = incident.classification.join(', ');
  const header: Record<string, string> = {
    Regime: regime.name,
    Report: `${clock.report} (${clock.id}${c.occurrence > 1 ? ` #${c.occurrence}` : ''})`,
    Incident: incident.id,
    'Deployer / provider': `${system.deployer.name} (${system.valueChainRole})`,
    'Aware since': c.awarenessAt,
    'Due by': c.dueAt,
  };
  const content: Record<string, string> = {};
  for (const field of regime.content) {
    const value = known[field] ?? known[field.toLowerCase()];
    if (value !== undefined) content[field] = value;
  }
  return { header, content };
}

/** The draft as first stored: its header and the fields Correx filled (missing ones are absent, never a placeholder). */
export function draftReportFields(c: ReportContext): Record<string, string> {
  const { header, content } = deriveReport(c);
  return { ...header, ...content };
}

/** Where a field's value comes from: Correx's derivation, compliance's edit, or nowhere yet. */
export type FieldSource = 'derived' | 'edited' | 'missing';

export interface ReportField {
  name: string;
  /** What the report says for it (compliance's edit wins over Correx's derivation); null while missing. */
  value: string | null;
  source: FieldSource;
  /** What Correx derives for it from the incident now; null when it cannot. */
  derived: string | null;
  /** What Correx derived for it when the draft was made; null when it could not. */
  drafted: string | null;
  /** Correx's derivation changed since the draft was made (a correction applied, the incident resolved…). */
  changedSinceDrafted: boolean;
}

/** A stored value, or null where a draft made before missing fields were marked held the placeholder. */
const stored = (value: string | undefined): string | null => (value === undefined || value === LEGACY_PLACEHOLDER || value.trim() === '' ? null : value);

/**
 * Each of the regime's fields as the report stands: compliance's edit if there is one, otherwise what
 * Correx derives now, otherwise missing; with whether the derivation changed since the draft was made.
 */
export function reportFields(
  content: readonly string[],
  derived: Record<string, string>,
  edits: Record<string, string>,
  drafted: Record<string, string>,
): ReportField[] {
  return content.map((name) => {
    const now = stored(derived[name]);
    const then = stored(drafted[name]);
    const edit = stored(edits[name]);
    return {
      name,
      value: edit ?? now,
      source: edit !== null ? 'edited' : now !== null ? 'derived' : 'missing',
      derived: now,
      drafted: then,
      changedSinceDrafted: now !== then,
    };
  });
}

/** The fields still empty: each is required. */
export const missingFields = (fields: readonly ReportField[]): string[] => fields.filter((f) => f.value === null).map((f) => f.name);

/** Whether the regime lets this report go out with fields missing (an initial report, under a regime that allows an incomplete one). */
export const incompleteAllowed = (regime: Pick<Regime, 'incompleteInitialAllowed'>, clock: Pick<RegulatoryClock, 'report'>): boolean =>
  regime.incompleteInitialAllowed === true && clock.report === 'initial';

const listed = (items: readonly string[]) => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/** The line an incomplete report carries in place of the fields it lacks. */
export function incompleteLine(missing: readonly string[], initial: boolean): [string, string] {
  return [initial ? 'Incomplete initial report' : 'Incomplete report', `${listed(missing)} will follow.`];
}

/** The labels of the line an incomplete report carries (not fields of the regime). */
export const incompleteLabels = ['Incomplete initial report', 'Incomplete report'] as const;

/**
 * What is sent: the header, then each field that has a value, in the regime's order; a report with
 * fields missing (an incomplete initial report) says which follow instead of showing them empty.
 */
export function contentToSend(header: Record<string, string>, fields: readonly ReportField[], initialIncomplete: boolean): Record<string, string> {
  const out: Record<string, string> = { ...header };
  const missing = missingFields(fields);
  if (missing.length) {
    const [label, text] = incompleteLine(missing, initialIncomplete);
    out[label] = text;
  }
  for (const f of fields) if (f.value !== null) out[f.name] = f.value;
  return out;
}

/** Edits needed to turn `a` into `b` (Levenshtein), case ignored. */
function distance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    row = next;
  }
  return row[y.length]!;
}

/** The field a mistyped name most likely meant: the closest, if a slip of a few characters away. */
function nearest(name: string, valid: readonly string[]): string | undefined {
  const scored = valid.map((v) => ({ v, d: distance(name.trim(), v) })).sort((a, b) => a.d - b.d);
  const best = scored[0];
  return best && best.d <= Math.max(2, Math.floor(best.v.length / 5)) ? best.v : undefined;
}

/**
 * Edits name fields of the regime only: one error per other name, its path `edits.<name>` (inside
 * `prefix`, e.g. `body`), listing the fields there are.
 */
export function unknownEdits(regime: Pick<Regime, 'name' | 'content'>, edits: Record<string, string>, prefix?: string): FieldError[] {
  const valid = regime.content;
  return Object.keys(edits)
    .filter((name) => !valid.includes(name))
    .map((name) => {
      const near = nearest(name, valid);
      return {
        path: [prefix, 'edits', name].filter(Boolean).join('.'),
        message: `is not a field of ${regime.name}${near ? ` (did you mean '${near}'?)` : ''}; its fields are: ${valid.map((v) => `'${v}'`).join(', ')}`,
      };
    });
}

/** Compliance's edits after more edits: a value replaces the last one, an empty value removes the edit (the field is derived again, or missing). */
export function mergeEdits(current: Record<string, string>, next: Record<string, string>): Record<string, string> {
  const out = { ...current };
  for (const [name, value] of Object.entries(next)) {
    if (value.trim() === '') delete out[name];
    else out[name] = value;
  }
  return out;
}

/** The refusal when a report that must be complete is not: names each empty field. */
export function incompleteRefusal(report: string, regimeName: string, missing: readonly string[]): string {
  return `the ${report} report to ${regimeName} is not complete: ${missing.length === 1 ? 'the required field' : 'the required fields'} ${listed(missing.map((m) => `'${m}'`))} ${missing.length === 1 ? 'is' : 'are'} empty; fill ${missing.length === 1 ? 'it' : 'them'} in, then approve`;
}
