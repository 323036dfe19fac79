import { sql, type RawBuilder } from 'kysely';

/**
 * A jsonb parameter. Passed explicitly as JSON text because node-postgres turns JS arrays into
 * PostgreSQL array literals, and PGlite and pg must store the same thing.
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`${JSON.stringify(value)}::jsonb`;
}
