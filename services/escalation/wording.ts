// Where an incident's paging stands, in words, for its console page and `correx incident show`. Pure
// (no zod, no I/O).
import type { EscalationProgress } from './states.js';

export type { EscalationProgress };

/** `name` gives a person's id as the reader knows them (the console's names; the CLI keeps ids). */
export function escalationInWords(escalation: EscalationProgress, name: (id: string) => string = (id) => id): string {
  const pages = `${escalation.pagesSent} ${escalation.pagesSent === 1 ? 'page' : 'pages'}`;
  switch (escalation.state) {
    case 'paging':
      return `paging level by level until someone acknowledges (${pages} sent so far)`;
    case 'stopped': {
      const by = escalation.stoppedBy === 'system:monitor' ? 'its monitor (acknowledged or resolved at the source)' : name(escalation.stoppedBy ?? 'someone');
      return escalation.pagesSent === 0 ? `stopped by ${by} before anyone was paged` : `stopped by ${by} after ${pages}`;
    }
    case 'exhausted':
      return `gave up: every level was paged and nobody acknowledged (${pages})`;
  }
}
