import type { z } from 'zod';

/**
 * A failure the operator can fix (bad configuration, an unreachable dependency). The CLI prints its
 * message as one line and exits non-zero, without a stack trace.
 */
export class OperatorError extends Error {
  override readonly name = 'OperatorError';
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export interface FieldError {
  /** Dotted path of the field, e.g. `body.systemId`. */
  path: string;
  message: string;
}

/** Input that cannot be accepted, with the reason for each field; the HTTP API answers 400 with these. */
export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
  constructor(readonly errors: FieldError[]) {
    super(`invalid input: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }

  /** One error per zod issue, its path joined with dots (inside `prefix`, e.g. `body`). */
  static fromZod(error: z.ZodError, prefix: (string | number)[] = []): InvalidInput {
    return new InvalidInput(error.issues.map((issue) => ({ path: [...prefix, ...issue.path].map(String).join('.'), message: issue.message })));
  }

  /** The same errors with their paths inside `prefix` (a domain field `systemId` becomes `body.systemId`). */
  within(prefix: string): InvalidInput {
    return new InvalidInput(this.errors.map((e) => ({ ...e, path: e.path ? `${prefix}.${e.path}` : prefix })));
  }
}

/** `path.to.field: reason` for each issue, the form every edge (env, HTTP, CLI, runbooks) reports. */
export function describeZodIssues(error: z.ZodError, prefix: (string | number)[] = []): string[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path].map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

/** The innermost useful reason of a connection failure (AggregateError from happy-eyeballs, pg's codes). */
export function connectionFailureReason(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return connectionFailureReason(error.errors[0]);
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const known: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ENOTFOUND: 'host not found',
      EAI_AGAIN: 'host name lookup failed',
      ETIMEDOUT: 'timed out',
      EHOSTUNREACH: 'host unreachable',
      '28P01': 'password authentication failed',
      '28000': 'authentication rejected',
      '3D000': 'database does not exist',
    };
    if (code && known[code]) return known[code];
    return error.message.split('\n')[0] ?? String(error);
  }
  return String(error);
}

/** A person's action was refused by a workflow (not authorised, wrong state, duplicate vote…), with the reason. */
export class ActionRefused extends Error {
  override readonly name = 'ActionRefused';
}
