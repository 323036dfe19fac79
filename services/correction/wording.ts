// A correction said in words, for the people who decide on it and the customers it reaches. Pure (the
// workflows build messages with it): no zod, no I/O.
import type { correctionKinds } from './kinds.js';

type CorrectionKind = (typeof correctionKinds)[number];

/** Each kind's name as a customer or an approver would say it. */
export const kindInWords: Record<CorrectionKind, string> = {
  user_restriction: 'access restriction for some users or organisations',
  rate_limit: 'rate limit',
  capability_restriction: 'capabilities switched off',
  use_case_restriction: 'prohibited uses',
  rollback: 'rollback to an earlier model version',
  shutdown: 'shutdown: the model is not served',
};

/** Which traffic a correction reaches, in words: `everyone`, or the listed segments. */
export function scopeInWords(scope: Record<string, unknown>): string {
  if (scope.all === true) return 'everyone';
  const labels: Record<string, [string, string]> = {
    users: ['user', 'users'],
    orgs: ['organisation', 'organisations'],
    tiers: ['tier', 'tiers'],
    regions: ['region', 'regions'],
    useCases: ['use case', 'use cases'],
  };
  const parts = Object.entries(labels).flatMap(([key, [one, many]]) => {
    const ids = scope[key];
    if (!Array.isArray(ids) || ids.length === 0) return [];
    return [`the ${ids.length === 1 ? one : many} ${list(ids.map(String))}`];
  });
  return parts.length > 0 ? list(parts) : 'no traffic (the scope names no segment)';
}

/** Each parameter of a correction, as `label: value` pairs an approver can check one by one. */
export function parametersInWords(kind: CorrectionKind, parameters: Record<string, unknown>): [string, string][] {
  const text = (value: unknown) => (Array.isArray(value) ? list(value.map(String)) : String(value));
  switch (kind) {
    case 'user_restriction':
      return [['Mode', parameters.mode === 'allowlist' ? 'allowlist: only the listed users keep access' : 'blocklist: the listed users lose access']];
    case 'rate_limit':
      return [['Limit', `${text(parameters.requestsPerMinute)} requests a minute per ${parameters.per === 'org' ? 'organisation' : 'user'}`]];
    case 'capability_restriction':
      return [
        ...(parameters.filterProfile !== undefined ? ([['Filter profile', text(parameters.filterProfile)]] as [string, string][]) : []),
        ...(parameters.disabledCapabilities !== undefined
          ? ([['Capabilities switched off', text(parameters.disabledCapabilities)]] as [string, string][])
          : []),
      ];
    case 'use_case_restriction':
      return [['Prohibited uses', text(parameters.prohibitedUseCases)]];
    case 'rollback':
      return [['Model version served', text(parameters.targetVersion)]];
    case 'shutdown':
      return [];
  }
  return [];
}

/** What the correction does to the system, to whom: `Meridian is shut down for everyone: the model is not served`. */
export function correctionInWords(kind: CorrectionKind, scope: Record<string, unknown>, parameters: Record<string, unknown>, system = 'the system'): string {
  const who = scopeInWords(scope);
  const text = (value: unknown) => (Array.isArray(value) ? list(value.map(String)) : String(value));
  switch (kind) {
    case 'user_restriction':
      return parameters.mode === 'allowlist' ? `${system} is available only to ${who}` : `${system} is not available to ${who}`;
    case 'rate_limit':
      return `${system} accepts at most ${text(parameters.requestsPerMinute)} requests a minute per ${parameters.per === 'org' ? 'organisation' : 'user'} from ${who}`;
    case 'capability_restriction': {
      const off = parametersInWords(kind, parameters).map(([label, value]) => `${label.toLowerCase()}: ${value}`);
      return `${system} runs with restricted capabilities for ${who} (${off.join('; ')})`;
    }
    case 'use_case_restriction':
      return `${system} may not be used by ${who} for ${text(parameters.prohibitedUseCases)}`;
    case 'rollback':
      return `${system} serves the earlier model version ${text(parameters.targetVersion)} to ${who}`;
    case 'shutdown':
      return `${system} is shut down for ${who}: the model is not served`;
  }
  return `${system} is restricted for ${who}`;
}

/** A moment as people read it, with its zone: `2 December 2026, 09:30 UTC`. */
export function momentInWords(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${at.getUTCDate()} ${months[at.getUTCMonth()]!} ${at.getUTCFullYear()}, ${two(at.getUTCHours())}:${two(at.getUTCMinutes())} UTC`;
}

function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** The text with its first letter upper-case, to start a sentence or a field. */
export function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * What a gateway tells the person whose request a correction refused: the restriction, in words, and
 * the correction to quote to support; never the internal rationale, nor who else is restricted.
 */
export function refusalInWords(
  refusal: { kind: CorrectionKind; id: string; parameters: Record<string, unknown> },
  request: { useCase?: string; capability?: string },
  system: string,
): string {
  const quote = `(correction ${refusal.id})`;
  const text = (value: unknown) => (Array.isArray(value) ? list(value.map(String)) : String(value));
  switch (refusal.kind) {
    case 'shutdown':
      return `${system} is not available: its operator has shut it down while an incident is handled ${quote}.`;
    case 'user_restriction':
      return `${system} is not available to you: its operator has restricted access while an incident is handled ${quote}.`;
    case 'use_case_restriction':
      return `${system} may not be used for ${request.useCase ?? text(refusal.parameters.prohibitedUseCases)} at present: its operator has restricted this use while an incident is handled ${quote}.`;
    case 'capability_restriction':
      return `The ${request.capability ?? 'requested'} capability of ${system} is switched off at present while an incident is handled ${quote}.`;
    case 'rate_limit':
      return `${system} accepts at most ${text(refusal.parameters.requestsPerMinute)} requests a minute per ${refusal.parameters.per === 'org' ? 'organisation' : 'user'} at present, while an incident is handled ${quote}.`;
    case 'rollback':
      return `${system} serves an earlier model version at present ${quote}.`;
  }
  return `${system} is restricted at present ${quote}.`;
}
