import type { CorrectionRow, IncidentRow } from '../db/schema.js';
import type { AiSystem } from '../runbook/schema.js';
import type { Regime, RegulatoryClock } from './regime.js';

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

const TO_COMPLETE = '(to be completed by compliance)';

/**
 * Drafts a report in the regime's own fields from what Correx knows of the incident; what it cannot
 * know is marked for compliance to complete when approving.
 */
export function draftReportFields(c: ReportContext): Record<string, string> {
  const { incident, system, corrections, regime, clock } = c;
  const classes = incident.classification.length ? incident.classification.join(', ') : 'not yet classified';
  const remedial = corrections.length
    ? corrections
        .map(
          (k) =>
            `${k.kind} (${JSON.stringify(k.scope)}): ${k.state}${k.applied_at ? `, applied ${k.applied_at.toISOString()}` : ''}${k.lifted_at ? `, lifted ${k.lifted_at.toISOString()}` : ''} - ${k.reason}`,
        )
        .join('\n')
    : 'none yet';
  const known: Record<string, string> = {
    authority: regime.recipient,
    'report type': clock.report,
    'incident class': classes,
    'AI system identity and versions': `${system.name} (${system.id}), model ${system.model.name} ${system.model.version}`,
    'model involved': `${system.model.name} ${system.model.version}`,
    'what happened': incident.title,
    'chain of events': `opened ${incident.opened_at.toISOString()} (${incident.state})`,
    'remedial actions': remedial,
    response: remedial,
    measures: remedial,
    'measures taken': remedial,
    mitigation: remedial,
    date: incident.opened_at.toISOString().slice(0, 10),
    'start and end dates': `${incident.opened_at.toISOString()} - ${incident.resolved_at?.toISOString() ?? 'ongoing'}`,
    'nature of the breach': incident.title,
    nature: incident.title,
    description: incident.title,
    severity: incident.severity,
    timing: `aware ${c.awarenessAt}`,
  };
  const fields: Record<string, string> = {
    Regime: regime.name,
    Report: `${clock.report} (${clock.id}${c.occurrence > 1 ? ` #${c.occurrence}` : ''})`,
    Incident: incident.id,
    'Deployer / provider': `${system.deployer.name} (${system.valueChainRole})`,
    'Aware since': c.awarenessAt,
    'Due by': c.dueAt,
  };
  for (const field of regime.content) fields[field] = known[field] ?? known[field.toLowerCase()] ?? TO_COMPLETE;
  return fields;
}
