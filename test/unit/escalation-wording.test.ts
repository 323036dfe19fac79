import { describe, expect, it } from 'vitest';
import { escalationInWords } from '../../services/escalation/wording.js';

describe('escalationInWords: where paging stands, as the incident page and `correx incident show` say it', () => {
  const names = (id: string) => ({ 'amara-okafor': 'Amara Okafor' })[id] ?? id;

  it('says whether it still pages, who stopped it, or that it gave up, with the pages sent', () => {
    expect(escalationInWords({ state: 'paging', pagesSent: 1 })).toBe('paging level by level until someone acknowledges (1 page sent so far)');
    expect(escalationInWords({ state: 'stopped', stoppedBy: 'amara-okafor', pagesSent: 2 }, names)).toBe('stopped by Amara Okafor after 2 pages');
    expect(escalationInWords({ state: 'stopped', stoppedBy: 'amara-okafor', pagesSent: 0 })).toBe('stopped by amara-okafor before anyone was paged');
    expect(escalationInWords({ state: 'stopped', stoppedBy: 'system:monitor', pagesSent: 3 })).toBe(
      'stopped by its monitor (acknowledged or resolved at the source) after 3 pages',
    );
    expect(escalationInWords({ state: 'exhausted', pagesSent: 6 })).toBe('gave up: every level was paged and nobody acknowledged (6 pages)');
  });
});
