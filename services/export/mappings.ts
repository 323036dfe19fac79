import type { IncidentDossier } from './dossier.js';
import type { RegulatorMapping, RegulatorMappingSchema } from './schema.js';

const harmTypes: Record<string, string> = {
  death: 'physical harm (death)',
  'serious-harm-to-health': 'physical or psychological harm to health',
  'critical-infrastructure': 'disruption of critical infrastructure',
  'widespread-infringement': 'violation of fundamental rights at scale',
  'fundamental-rights': 'violation of human or fundamental rights',
  'property-or-environment': 'harm to property or the environment',
  'cybersecurity-breach': 'security breach',
  'personal-data-breach': 'privacy and data protection',
  'critical-safety-incident': 'public safety',
  'imminent-risk-of-death-or-injury': 'physical harm (imminent)',
  'major-ict-incident': 'economic or financial disruption',
  'significant-incident': 'disruption of an essential service',
};

const NO_REVIEW = 'no after-action review has been recorded for this incident yet';
const UNCLASSIFIED = 'the incident has not been classified (POST /v1/incidents/:id/classify)';

/** What compliance wrote into approved regulator reports, by field name, when it is not a placeholder. */
function reportedFields(d: IncidentDossier): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of d.notifications.filter((x) => x.audience === 'regulator' && x.approved_at)) {
    for (const [k, v] of Object.entries(n.fields ?? {})) if (v && !v.startsWith('(to be completed')) out[k.toLowerCase()] = v;
  }
  return out;
}

function finish(
  schema: RegulatorMappingSchema,
  reference: string,
  fields: Record<string, string | null>,
  mandatory: string[],
  why: Record<string, string>,
): RegulatorMapping {
  const missing = mandatory
    .filter((f) => !fields[f])
    .map((field) => ({ field, why: why[field] ?? 'Correx holds no record of it; complete it before submitting' }));
  return { schema, reference, fields, mandatory, missing };
}

export function regulatorMappings(d: IncidentDossier): RegulatorMapping[] {
  const i = d.incident;
  const system = d.runbook?.system;
  const reported = reportedFields(d);
  const opened = d.timeline.find((e) => e.kind === 'incident.opened');
  const summary = typeof opened?.data.summary === 'string' && opened.data.summary ? `${i.title}. ${opened.data.summary}` : i.title;
  const classes = i.classification;
  const remedial = d.corrections.length
    ? d.corrections
        .map(
          (c) =>
            `${c.kind} ${JSON.stringify(c.scope)}: ${c.state}${c.applied_at ? `, in force from ${c.applied_at.toISOString()}` : ''}${c.lifted_at ? ` until ${c.lifted_at.toISOString()}` : ''} (${c.reason})`,
        )
        .join('; ')
    : null;
  const identity = system
    ? `${system.name} (${system.id}); model ${system.model.name} version ${system.model.version}${system.model.previousVersions?.length ? `; earlier versions ${system.model.previousVersions.join(', ')}` : ''}`
    : null;
  const chain = d.timeline.map((e) => `${e.occurred_at.toISOString()} ${e.kind} (${e.actor})`).join('\n');
  const evidence = `Correx timeline of ${d.timeline.length} events, SHA-256 chain head ${d.timeline.at(-1)?.hash ?? '-'}; verifiable export via GET /v1/exports?incidentId=${i.id}`;
  const regulatorReports = d.notifications.filter((n) => n.audience === 'regulator');
  const euReport = regulatorReports.find((n) => n.regime?.startsWith('eu-ai-act'));
  const resolvedOrOpen = `${i.opened_at.toISOString()} - ${i.resolved_at?.toISOString() ?? 'ongoing'}`;
  const review = d.review;
  const attribution = review?.attribution.map((a) => `${a.stage} / ${a.actor} (${a.confidence} confidence)`).join('; ');
  const rootCause = review
    ? `${review.root_cause}${attribution ? ` Attributed to: ${attribution}.` : ''}`
    : (reported['root-cause analysis'] ?? reported['root cause'] ?? reported["provider's root-cause analysis"] ?? null);

  const eu = finish(
    'eu-ai-act-art73-serious-incident',
    'Commission template for serious incident reports under Art. 73 (draft, Sept 2025)',
    {
      authority: euReport?.recipient ?? reported.authority ?? null,
      'report type': i.resolved_at ? 'combined initial and final' : 'initial',
      'incident class': classes.length ? classes.join(', ') : null,
      'AI system identity and versions': identity,
      'what happened': summary,
      effects: reported.effects ?? null,
      'users affected': reported['users affected'] ?? null,
      'remedial actions': remedial,
      'root-cause analysis': rootCause,
      'date of awareness': i.opened_at.toISOString(),
    },
    [
      'authority',
      'report type',
      'incident class',
      'AI system identity and versions',
      'what happened',
      'effects',
      'users affected',
      'remedial actions',
      'root-cause analysis',
    ],
    {
      authority: 'no EU AI Act regime applies to this incident under its runbook and classes, so no market surveillance authority is on record',
      'incident class': UNCLASSIFIED,
      effects: 'effects are written by compliance in the regulator report; none has been approved yet',
      'users affected': 'the number of users affected is written by compliance in the regulator report; none has been approved yet',
      'remedial actions': 'no correction has been proposed',
      'root-cause analysis': NO_REVIEW,
    },
  );

  const gpai = finish(
    'gpai-code-of-practice-c9',
    'GPAI Code of Practice, Commitment 9 (serious incident reporting)',
    {
      'start and end dates': resolvedOrOpen,
      'harm and victims': reported['harm and victims'] ?? (classes.length ? classes.map((c) => harmTypes[c] ?? c).join(', ') : null),
      'chain of events': chain,
      'model involved': system ? `${system.model.name} ${system.model.version}` : null,
      'evidence of involvement': evidence,
      response: remedial,
      recommendations: reported.recommendations ?? (review?.runbook_changes.length ? review.runbook_changes.join('; ') : null),
      'root cause': rootCause,
      'near-miss patterns': reported['near-miss patterns'] ?? (review?.contributing_factors.length ? review.contributing_factors.join('; ') : null),
    },
    [
      'start and end dates',
      'harm and victims',
      'chain of events',
      'model involved',
      'evidence of involvement',
      'response',
      'recommendations',
      'root cause',
      'near-miss patterns',
    ],
    {
      'harm and victims': UNCLASSIFIED,
      response: 'no correction has been proposed',
      recommendations: 'recommendations to authorities come from the after-action review or the approved report; neither exists yet',
      'root cause': NO_REVIEW,
      'near-miss patterns': NO_REVIEW,
    },
  );

  const oecd = finish(
    'oecd-common-reporting-framework',
    'OECD common reporting framework for AI incidents (2025)',
    {
      title: i.title,
      description: summary,
      'how the AI system relates to the incident': system
        ? `${system.name} (${system.model.name} ${system.model.version}) ${opened?.data.cause ? 'triggered monitoring' : 'was reported by responders'}; severity ${i.severity}`
        : null,
      submitter: system ? `${system.deployer.name} (${system.valueChainRole})` : null,
      'supporting materials': evidence,
      severity: `${i.severity}${d.runbook ? ` (${d.runbook.severities.find((s) => s.id === i.severity)?.name ?? ''})` : ''}`,
      'harm type': classes.length ? classes.map((c) => harmTypes[c] ?? c).join(', ') : null,
      'date first known': i.opened_at.toISOString(),
      countries: system?.jurisdictions.join(', ') ?? null,
      'system name and version': identity,
      developer: system?.upstreamDeveloper.name ?? null,
      deployer: system?.deployer.name ?? null,
      'affected stakeholders': reported['users affected'] ?? null,
      industries: system?.sectors.join(', ') ?? null,
      'critical infrastructure': classes.includes('critical-infrastructure') ? 'yes' : 'no',
      'actions taken': remedial,
    },
    ['title', 'description', 'how the AI system relates to the incident', 'submitter', 'supporting materials', 'severity', 'harm type'],
    { 'harm type': UNCLASSIFIED, submitter: "the incident's runbook version is not on record" },
  );

  const aiid = finish(
    'ai-incident-database',
    'AI Incident Database incident record',
    {
      id: i.id,
      date: i.opened_at.toISOString().slice(0, 10),
      title: i.title,
      description: summary,
      'alleged deployer': system?.deployer.name ?? null,
      'alleged developer': system?.upstreamDeveloper.name ?? null,
      'alleged harmed or nearly harmed parties': reported['users affected'] ?? reported['harm and victims'] ?? null,
      reports: regulatorReports.length
        ? regulatorReports.map((n) => `${n.subject}${n.sent_at ? ` (sent ${n.sent_at.toISOString()})` : ' (not sent)'}`).join('; ')
        : null,
    },
    ['id', 'date', 'title', 'description', 'alleged deployer', 'alleged developer', 'alleged harmed or nearly harmed parties', 'reports'],
    {
      'alleged harmed or nearly harmed parties': 'harmed parties are written by compliance in a regulator report; none has been approved yet',
      reports: 'no regulator report has been drafted for this incident',
    },
  );
  return [eu, gpai, oecd, aiid];
}
