import { Document, isMap, isScalar, isSeq } from 'yaml';
import { lifecycleStages, valueChainActors, type ReviewRecord } from './schema.js';

// The skeleton of an incident's after-action review (`correx review template`): the facts Correx
// recorded (title, times, corrections, the timeline's milestones) filled in, and what only people know
// (impact, root cause, attribution) marked TODO. As printed it is a valid review record, so a reviewer
// edits the TODOs and submits the file as it stands.

/** What the template is made from: the incident, its corrections and its timeline, as the API answers them. */
export interface ReviewFacts {
  incident: {
    id: string;
    systemId: string;
    title: string;
    severity: string;
    commander: string | null;
    openedBy: string;
    openedAt: string;
    acknowledgedAt: string | null;
    mitigatedAt: string | null;
    resolvedAt: string | null;
  };
  corrections: {
    id: string;
    kind: string;
    state: string;
    breakGlass: boolean;
    proposedBy: string;
    reason: string;
    appliedAt: string | null;
    liftedAt: string | null;
  }[];
  timeline: { seq: number; kind: string; actor: string; occurredAt: string; data: unknown }[];
}

/** What a reviewer must still write; `correx review submit` warns while any is left. */
export const todoMarker = 'TODO:';

const noteLimit = 2000;
const at = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
const words = (kind: string) => kind.replace(/_/g, ' ');
const field = (data: unknown, name: string): unknown => (data && typeof data === 'object' ? (data as Record<string, unknown>)[name] : undefined);
const text = (data: unknown, name: string): string | undefined => {
  const value = field(data, name);
  return typeof value === 'string' && value.trim() ? value : undefined;
};

/** The timeline's milestones in words: who did what to the incident and its corrections (pages, notices and tasks left out). */
function milestone(event: ReviewFacts['timeline'][number], facts: ReviewFacts): string | undefined {
  const { data, actor } = event;
  const correction = facts.corrections.find((c) => c.id === field(data, 'correctionId'));
  const kind = correction ? words(correction.kind) : 'correction';
  const because = (name: string) => (text(data, name) ? `: ${text(data, name)}` : '');
  switch (event.kind) {
    case 'incident.opened':
      return `Opened by ${actor} at ${facts.incident.severity}: ${facts.incident.title}`;
    case 'incident.acknowledged':
      return `Acknowledged by ${actor}${actor === facts.incident.commander ? ', who led the incident as commander' : ''}`;
    case 'incident.classified': {
      const classes = field(data, 'to');
      return `Classified ${Array.isArray(classes) && classes.length ? classes.join(', ') : 'as none'} by ${actor}${because('reason')}`;
    }
    case 'incident.mitigated':
      return 'Mitigated: a correction in force';
    case 'incident.resolved':
      return `Resolved by ${actor}${because('reason')}`;
    case 'incident.reopened':
      return `Reopened${because('reason')}`;
    case 'incident.restoration_recorded': {
      const criteria = field(data, 'criteria');
      const met = Array.isArray(criteria)
        ? criteria.map((c) => `${text(c, 'criterion') ?? '?'}${text(c, 'by') ? ` (${text(c, 'by')})` : ''}: ${text(c, 'evidence') ?? ''}`)
        : [];
      return `Restoration recorded as met before the ${kind} came off${met.length ? `: ${met.join('; ')}` : ''}`;
    }
    case 'correction.proposed':
      return `${kind} proposed by ${actor}${field(data, 'breakGlass') === true ? ' and applied at once (break-glass)' : ''}${because('reason')}`;
    case 'correction.escalated':
      return `${kind}: nobody decided in time; escalated`;
    case 'correction.approved': {
      const approvers = field(data, 'approvers');
      const who = Array.isArray(approvers) ? approvers.map((a) => text(a, 'actor')).filter(Boolean) : [];
      return `${kind} approved${who.length ? ` by ${who.join(' and ')}` : ''}`;
    }
    case 'correction.rejected':
      return `${kind} rejected by ${actor}${because('rationale')}`;
    case 'correction.ratified':
      return `${kind} ratified`;
    case 'correction.ratification_missed':
    case 'correction.ratification_rejected':
      return `${kind} not ratified; lifted`;
    case 'correction.applied':
      return `${kind} applied`;
    case 'correction.lift_escalated':
      return `${kind}: the lift's quorum was not met in time; escalated`;
    case 'correction.lift_decided': {
      const votes = field(data, 'votes');
      const who = Array.isArray(votes) ? votes.map((v) => text(v, 'actor')).filter(Boolean) : [];
      return `Lifting the ${kind} decided by ${who.length ? who.join(' and ') : actor}${because('rationale')}`;
    }
    case 'correction.lifted':
      return `${kind} lifted`;
    case 'regulatory.report_submitted':
      return `Regulator report sent (${text(data, 'regime') ?? 'regime'})`;
    default:
      return undefined;
  }
}

/** What Correx knows, in one paragraph: the incident's times and its corrections. */
function factsInWords(facts: ReviewFacts): string {
  const { incident } = facts;
  const times = [
    `Opened ${at(incident.openedAt)} by ${incident.openedBy}`,
    incident.acknowledgedAt ? `acknowledged ${at(incident.acknowledgedAt)}${incident.commander ? ` (commander ${incident.commander})` : ''}` : undefined,
    incident.mitigatedAt ? `mitigated ${at(incident.mitigatedAt)}` : undefined,
    incident.resolvedAt ? `resolved ${at(incident.resolvedAt)}` : undefined,
  ].filter(Boolean);
  const corrections = facts.corrections.map((c) => {
    const inForce = c.appliedAt ? `, in force from ${at(c.appliedAt)}${c.liftedAt ? ` to ${at(c.liftedAt)}` : ''}` : '';
    return `${words(c.kind)} (${c.state}${c.breakGlass ? ', break-glass' : ''}${inForce}; proposed by ${c.proposedBy}: ${c.reason})`;
  });
  return (
    `${incident.severity} incident on ${incident.systemId}: ${incident.title}. ${times.join(', ')}. ` +
    `${corrections.length ? `Corrections: ${corrections.join('; ')}.` : 'No corrections.'}`
  );
}

/** The review record the template holds: facts filled in, the rest TODO, valid as it stands. */
export function reviewSkeleton(facts: ReviewFacts): ReviewRecord {
  const highlights = facts.timeline.flatMap((event) => {
    const note = milestone(event, facts);
    return note ? [{ seq: event.seq, at: at(event.occurredAt), note: note.length > noteLimit ? `${note.slice(0, noteLimit - 1)}…` : note }] : [];
  });
  return {
    summary: `${factsInWords(facts)} ${todoMarker} what happened and why it mattered, in two or three sentences.`,
    impact: `${todoMarker} who was affected (users, downstream consumers, third parties), how many, for how long and how badly.`,
    highlights,
    rootCause: `${todoMarker} why it happened.`,
    contributingFactors: [],
    attribution: [
      {
        stage: 'deployment-configuration',
        actor: 'deployer',
        confidence: 'low',
        evidence: [{ description: `${todoMarker} the evidence for this attribution (an evaluation run, a change record, a report).` }],
      },
    ],
    correctiveActions: [],
    runbookChanges: [],
  };
}

/** The skeleton as YAML, with comments saying what each part asks for and how to submit it. */
export function reviewTemplate(facts: ReviewFacts): string {
  const doc = new Document(reviewSkeleton(facts));
  doc.commentBefore = [
    ` After-action review of incident ${facts.incident.id}`,
    ` ${facts.incident.title} (${facts.incident.systemId}, ${facts.incident.severity})`,
    ` Replace every "${todoMarker}" and check the facts Correx filled in, then:`,
    `   correx review submit ${facts.incident.id} --file <this file>`,
    ' Submitting completes the runbook\'s "write the review" task; submit again to revise.',
  ].join('\n');
  const comment = (key: string, lines: string[]) => {
    const pair = isMap(doc.contents) ? doc.contents.items.find((item) => isScalar(item.key) && item.key.value === key) : undefined;
    if (pair && isScalar(pair.key)) pair.key.commentBefore = lines.map((line) => ` ${line}`).join('\n');
  };
  comment('highlights', ["The timeline's milestones (seq and time as recorded); keep, cut or annotate them."]);
  comment('contributingFactors', ['What made it worse or likelier, one line each.']);
  comment('attribution', [
    'Where in the lifecycle and the value chain the failure traces to; one entry per cause.',
    `stage: ${lifecycleStages.join(', ')}`,
    `actor: ${valueChainActors.join(', ')}`,
    'confidence: low, medium or high; evidence: a description, with a url where there is one',
  ]);
  comment('correctiveActions', ['Each becomes a tracked task: { title, ownerRole, owner (optional), dueAt (ISO 8601 time) }']);
  comment('runbookChanges', ['Changes to the runbook this incident suggests, one line each.']);
  const highlights = doc.get('highlights', true);
  if (isSeq(highlights)) for (const item of highlights.items) if (isMap(item)) item.flow = true;
  return doc.toString({ lineWidth: 0 });
}
