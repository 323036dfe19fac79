import { describe, expect, it } from 'vitest';
import type { AuthorityRule, Person, Vote } from '../../services/correction/authority.js';
import { decisionDeadline, outstandingVotes, type CorrectionDecision } from '../../services/console/decisions.js';
import { afterVoteNotice, ago, decisionCard, durationInWords, outstandingHtml, ruleInWords, type Viewer } from '../../services/console/pages.js';
import type { IncidentRow } from '../../services/db/schema.js';
import { formatInstant } from '../../services/html.js';

// The frontier-assistant runbook's people and its shutdown rule at SEV1 (quorum 2, escalation to the CEO, break-glass).
const people: Person[] = [
  { id: 'amara-okafor', name: 'Amara Okafor', email: 'a@x.example', roles: ['on-call-engineer'] },
  { id: 'daniel-cho', name: 'Daniel Cho', email: 'd@x.example', roles: ['head-of-safety'] },
  { id: 'priya-raman', name: 'Priya Raman', email: 'p@x.example', roles: ['cto'] },
  { id: 'tom-hale', name: 'Tom Hale', email: 't@x.example', roles: ['cto'] },
  { id: 'erik-lund', name: 'Erik Lund', email: 'e@x.example', roles: ['ceo'] },
];
const shutdownRule: AuthorityRule = {
  kind: 'shutdown',
  severity: 'SEV1',
  approverRoles: ['head-of-safety', 'cto'],
  quorum: 2,
  approvalTimeoutMs: 15 * 60_000,
  escalateTo: ['ceo'],
  breakGlass: { allowed: true, ratificationWindowMs: 60 * 60_000 },
};
const vote = (actor: string, role: string, decision: Vote['decision'] = 'approve'): Vote => ({
  actor,
  role,
  decision,
  rationale: 'because',
  at: '2026-12-02T09:31:00.000Z',
});
const text = (html: string) => html.replace(/<[^>]+>/g, '');

describe('who still must vote', () => {
  it('counts a vote once per role and names the holders of the missing roles who have not voted', () => {
    const none = outstandingVotes({ rule: shutdownRule, escalated: false, votes: [], proposedBy: 'amara-okafor' }, people);
    expect(none.approvals).toBe(2);
    expect(none.roles.map((r) => [r.role, r.people.map((p) => p.id)])).toEqual([
      ['head-of-safety', ['daniel-cho']],
      ['cto', ['priya-raman', 'tom-hale']],
    ]);
    expect(text(outstandingHtml(none, 'daniel-cho'))).toBe('2 more approvals, one from each of head-of-safety (you) and cto (Priya Raman or Tom Hale).');

    const one = outstandingVotes({ rule: shutdownRule, escalated: false, votes: [vote('priya-raman', 'cto')], proposedBy: 'amara-okafor' }, people);
    expect(one.approvals).toBe(1);
    expect(text(outstandingHtml(one, 'priya-raman'))).toBe('1 more approval, from head-of-safety (Daniel Cho).');
  });

  it('leaves out the proposer (separation of duties) and says when nobody is left who may vote', () => {
    const proposedByCto = outstandingVotes({ rule: shutdownRule, escalated: false, votes: [vote('tom-hale', 'cto')], proposedBy: 'daniel-cho' }, people);
    expect(text(outstandingHtml(proposedByCto, 'priya-raman'))).toBe('1 more approval, from head-of-safety (nobody left who may vote).');
  });

  it('says any one of several roles when fewer approvals are missing than roles', () => {
    const rule = { ...shutdownRule, quorum: 1 };
    expect(text(outstandingHtml(outstandingVotes({ rule, escalated: false, votes: [], proposedBy: 'amara-okafor' }, people), 'x'))).toBe(
      '1 more approval, from any one of head-of-safety (Daniel Cho) or cto (Priya Raman or Tom Hale).',
    );
  });

  it('once escalated, adds the escalation authority, who decides alone', () => {
    const escalated = outstandingVotes({ rule: shutdownRule, escalated: true, votes: [vote('priya-raman', 'cto')], proposedBy: 'amara-okafor' }, people);
    expect(text(outstandingHtml(escalated, 'erik-lund'))).toBe(
      '1 more approval, from head-of-safety (Daniel Cho). Escalated: one approval from ceo (you) now decides it alone.',
    );
  });
});

describe('the time left', () => {
  const proposedAt = new Date('2026-12-02T09:30:00.000Z');
  it('escalates one approval timeout after the proposal, and expires one more after that', () => {
    const first = decisionDeadline({ proposedAt, appliedAt: null, breakGlass: false, state: 'proposed' }, shutdownRule, false, people);
    expect(first).toMatchObject({ at: new Date('2026-12-02T09:45:00.000Z'), then: 'escalate', to: { roles: ['ceo'] } });
    expect(first.to.people.map((p) => p.name)).toEqual(['Erik Lund']);
    expect(decisionDeadline({ proposedAt, appliedAt: null, breakGlass: false, state: 'proposed' }, shutdownRule, true, people)).toMatchObject({
      at: new Date('2026-12-02T10:00:00.000Z'),
      then: 'expire',
    });
  });

  it('lifts a break-glass correction when its ratification window, from when it was applied, closes', () => {
    const appliedAt = new Date('2026-12-02T09:30:20.000Z');
    expect(decisionDeadline({ proposedAt, appliedAt, breakGlass: true, state: 'awaiting-ratification' }, shutdownRule, false, people)).toMatchObject({
      at: new Date('2026-12-02T10:30:20.000Z'),
      then: 'lift',
    });
  });

  it('is a <time> the script counts down, with the moment and its zone for those without script', () => {
    expect(ago('2026-12-02T09:45:00.000Z', 'until')).toBe(
      '<time datetime="2026-12-02T09:45:00.000Z" data-age="until" title="2026-12-02 09:45:00 UTC">2 December 2026, 09:45 UTC</time>',
    );
    expect(formatInstant(new Date('2026-11-23T04:48:20.123Z'))).toBe('2026-11-23 04:48:20 UTC');
  });
});

describe('the authority rule in words', () => {
  it('says the quorum, that one rejection rejects, the escalation and the expiry', () => {
    expect(ruleInWords(shutdownRule, 'proposed')).toBe(
      '2 approvals, each from a different role among head-of-safety and cto (a vote counts once per role). One rejection rejects it. Undecided after 15 minutes, it is escalated to ceo, any one of whom may then decide alone; undecided 15 minutes after that, it expires unapplied.',
    );
    expect(ruleInWords({ ...shutdownRule, quorum: 1, approverRoles: ['safety-engineering-manager', 'head-of-safety'] }, 'proposed')).toMatch(
      /^One approval, from safety-engineering-manager or head-of-safety\./,
    );
    expect(ruleInWords(shutdownRule, 'awaiting-ratification')).toContain('it must be ratified with the same approvals within 1 hour or it is lifted');
    expect(durationInWords(90 * 60_000)).toBe('1 hour 30 minutes');
  });
});

describe('the decision card and the notice after a vote', () => {
  const incident = { id: '00000000-0000-4000-8000-000000000001', title: 'Uplift', severity: 'SEV1', system_id: 'frontier-assistant' } as IncidentRow;
  const viewer: Viewer = {
    principal: { owner: 'daniel-cho', roles: ['approver'], tokenId: 't', prefix: 'crx_t', systemId: null },
    name: 'Daniel Cho',
    csrf: 'c',
    outbox: false,
    pendingCount: 1,
  };
  const names = new Map(people.map((p) => [p.id, p.name]));
  const decision = (over: Partial<CorrectionDecision> = {}, correction: Partial<CorrectionDecision['correction']> = {}): CorrectionDecision => {
    const state = correction.state ?? 'proposed';
    const votes = over.votes ?? [];
    return {
      kind: 'correction',
      id: '00000000-0000-4000-8000-000000000002',
      incident,
      correction: {
        kind: 'shutdown',
        state,
        scope: { all: true },
        parameters: {},
        reason: 'Stop serving',
        proposedBy: 'amara-okafor',
        proposedAt: new Date('2026-12-02T09:30:00.000Z'),
        appliedAt: null,
        breakGlass: false,
        ...correction,
      },
      rule: shutdownRule,
      escalated: false,
      votes,
      system: { name: 'Meridian Assistant API', adapter: 'policy' },
      consumers: [
        { id: 'lexicon-legal', name: 'Lexicon Legal', fallback: 'Self-hosted model', activation: 'webhook', notified: true },
        { id: 'northwind', name: 'Northwind', fallback: 'Human queue', activation: 'email', notified: false },
      ],
      outstanding: outstandingVotes({ rule: shutdownRule, escalated: false, votes, proposedBy: 'amara-okafor' }, people),
      deadline: decisionDeadline({ proposedAt: new Date('2026-12-02T09:30:00.000Z'), appliedAt: null, breakGlass: false, state }, shutdownRule, false, people),
      you: { votesAs: 'head-of-safety' },
      ...over,
    };
  };

  it('says which consumers the runbook leaves untold, and what an approval sets in motion', () => {
    const card = text(decisionCard(decision(), viewer, names, { showIncident: false }));
    expect(card).toContain('Approve or reject: shutdown');
    expect(card).toContain('Meridian Assistant API is shut down for everyone: the model is not served.');
    expect(card).toContain("Northwind: falls back to “Human queue” (Correx asks for it by mail); not told: the runbook's notification policy leaves them out.");
    expect(card).toContain('Lexicon Legal and Northwind are interrupted: Correx tells Lexicon Legal and switches on their fallbacks.');
    expect(card).toContain('then, undecided, it is escalated to ceo (Erik Lund), who may decide alone.');
  });

  it('for break-glass: ratify, the window left, and each consumer where it stands (a failing fallback shown)', () => {
    const breakGlass = decision(
      {
        deadline: { at: new Date('2026-12-02T10:30:00.000Z'), then: 'lift', to: { roles: ['ceo'], people: [] } },
        consumers: [
          {
            id: 'lexicon-legal',
            name: 'Lexicon Legal',
            fallback: 'Self-hosted model',
            activation: 'webhook',
            notified: true,
            status: { consumerId: 'lexicon-legal', name: 'Lexicon Legal', notice: 'in-force', fallback: 'failing', lastError: 'HTTP 503' },
          },
        ],
      },
      { state: 'awaiting-ratification', breakGlass: true, appliedAt: new Date('2026-12-02T09:30:00.000Z') },
    );
    const html = decisionCard(breakGlass, viewer, names, { showIncident: false });
    expect(text(html)).toContain('Ratify or reject: shutdown');
    expect(text(html)).toContain('then, unless ratified, it is lifted.');
    expect(text(html)).toContain('If ratifiedRatified, it stays in force until someone lifts it.');
    expect(html).toContain('<span class="badge state failing">failing</span>');
    expect(text(html)).toContain('HTTP 503');
    expect(html).toContain('>Ratify shutdown</button>');
  });

  it('after a first vote: the approvals still missing, who can give them and the time left', () => {
    const afterFirst = decision({
      votes: [vote('daniel-cho', 'head-of-safety')],
      you: { cannot: 'you have voted', voted: vote('daniel-cho', 'head-of-safety') },
    });
    const notice = afterVoteNotice('approve', { decision: afterFirst, open: true, shownState: 'proposed', yourRole: 'head-of-safety' }, 'daniel-cho');
    expect(text(notice)).toBe(
      'Your approval of the shutdown is recorded on the timeline (it counts for head-of-safety). It still needs 1 more approval, from cto (Priya Raman or Tom Hale). Time left: 2 December 2026, 09:45 UTC; then, undecided, it is escalated to ceo (Erik Lund), who may decide alone.',
    );
    expect(notice).toContain('data-age="until"');
    // The card no longer offers a vote, and says why.
    const card = decisionCard(afterFirst, viewer, names, { showIncident: false });
    expect(text(card)).toContain('Awaiting decision: shutdown');
    expect(text(card)).toContain('you approved it (as head-of-safety)');
    expect(card).not.toContain('<form');
  });

  it('after the deciding vote: what follows', () => {
    const done = decision({ votes: [vote('priya-raman', 'cto'), vote('daniel-cho', 'head-of-safety')] });
    expect(text(afterVoteNotice('approve', { decision: done, open: false, shownState: 'approved', yourRole: 'head-of-safety' }, 'daniel-cho'))).toBe(
      'Your approval of the shutdown is recorded on the timeline (it counts for head-of-safety). That completed the decision: the shutdown is approved. Correx applies it at once through the gateway policy (the gateways in front of the model enforce it), checks that it took effect, and keeps it in force until someone lifts it. Lexicon Legal and Northwind are interrupted: Correx tells Lexicon Legal and switches on their fallbacks.',
    );
    expect(text(afterVoteNotice('reject', { decision: done, open: false, shownState: 'rejected', yourRole: 'head-of-safety' }, 'daniel-cho'))).toBe(
      'Your rejection of the shutdown is recorded on the timeline (it counts for head-of-safety). The shutdown is rejected: it is not applied.',
    );
    const ratified = decision({}, { state: 'awaiting-ratification', breakGlass: true });
    expect(text(afterVoteNotice('approve', { decision: ratified, open: false, shownState: 'awaiting-ratification', yourRole: 'cto' }, 'priya-raman'))).toBe(
      'Your approval of the shutdown is recorded on the timeline (it counts for cto). That ratified it: the shutdown stays in force until someone lifts it.',
    );
  });
});
