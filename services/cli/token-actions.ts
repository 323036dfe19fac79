import { userInfo } from 'node:os';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { createToken, listTokens, revokeToken } from '../access/repository.js';
import { TokenRequest, type TokenRecord } from '../access/schema.js';
import { loadConfig } from '../config.js';
import { openConfiguredDatabase } from '../db/configured.js';
import type { Database } from '../db/schema.js';
import { OperatorError } from '../errors.js';
import { ApiClient, listValues, parseInput, type ConnectionOptions } from './api.js';
import { CliError, ExitCode } from './exit.js';
import { age, print, printJson, table, time } from './output.js';

// What `correx token …` does (the commands are defined in ./token.ts).

type TokenOptions = ConnectionOptions & { direct?: boolean };

/** Runs on the configured database (for --direct), with a hint when its schema is missing. */
async function onDatabase<T>(options: TokenOptions, run: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  if (options.server !== undefined || options.token !== undefined || options.profile !== undefined) {
    throw new CliError('--direct works on the database: --server, --token and --profile do not apply', ExitCode.usage);
  }
  const database = await openConfiguredDatabase(loadConfig());
  try {
    return await run(database.db);
  } catch (error) {
    if (error instanceof Error && /relation "api_tokens" does not exist/.test(error.message)) {
      throw new OperatorError(`${database.describe} has no api_tokens table: run \`correx migrate up\` first`);
    }
    throw error;
  } finally {
    await database.close();
  }
}

function tokenRows(tokens: TokenRecord[]) {
  const now = Date.now();
  return table(
    ['id', 'prefix', 'kind', 'owner', 'roles', 'created', 'by', 'expires', 'last used', 'revoked', 'description'],
    tokens.map((t) => [
      t.id,
      t.prefix,
      t.kind,
      t.owner,
      t.roles.join(','),
      `${age(t.createdAt, now)} ago`,
      t.createdBy,
      t.expiresAt ? time(t.expiresAt) : 'never',
      t.lastUsedAt ? `${age(t.lastUsedAt, now)} ago` : 'never',
      t.revokedAt ? time(t.revokedAt) : null,
      t.systemId ? `key for ${t.systemId}${t.description ? `: ${t.description}` : ''}` : t.description,
    ]),
  );
}

export async function create(
  options: TokenOptions & {
    owner: string;
    role: string[];
    description?: string;
    expiresIn?: string;
    integrationKeyFor?: string;
    ownerOutsideRunbooks?: boolean;
  },
): Promise<void> {
  const request = parseInput(
    TokenRequest,
    {
      owner: options.owner,
      roles: listValues(options.role),
      ...(options.description !== undefined ? { description: options.description } : {}),
      ...(options.expiresIn !== undefined ? { expiresIn: options.expiresIn } : {}),
      ...(options.integrationKeyFor !== undefined ? { integrationKeyFor: options.integrationKeyFor } : {}),
      ...(options.ownerOutsideRunbooks ? { ownerOutsideRunbooks: true } : {}),
    },
    { roles: '--role', ownerOutsideRunbooks: '--owner-outside-runbooks', owner: '--owner' },
  );
  const created = options.direct
    ? await onDatabase(options, (db) => createToken(db, request, { createdBy: `direct:${userInfo().username}` }))
    : await (await ApiClient.connect(options)).post<{ secret: string; token: TokenRecord }>('/v1/tokens', request);
  if (options.json) return printJson(created);
  const t = created.token;
  print(
    `created ${t.kind === 'integration-key' ? `integration key for ${t.systemId}` : 'token'} ${t.id} (prefix ${t.prefix}) for ${t.owner}, roles ${t.roles.join(', ')}, expires ${t.expiresAt ? time(t.expiresAt) : 'never'}`,
  );
  print(created.secret);
  print('This secret is shown only once: store it now (Correx keeps only its hash).');
}

export async function list(options: TokenOptions & { includeRevoked?: boolean }): Promise<void> {
  const items = options.direct
    ? await onDatabase(options, (db) => listTokens(db, { includeRevoked: options.includeRevoked === true }))
    : (await (await ApiClient.connect(options)).get<{ items: TokenRecord[] }>('/v1/tokens', { includeRevoked: options.includeRevoked ? 'true' : undefined }))
        .items;
  if (options.json) return printJson({ items });
  if (items.length === 0) return print('no tokens');
  print(tokenRows(items));
}

export async function revoke(idOrPrefix: string, options: TokenOptions): Promise<void> {
  const target = parseInput(
    z.object({ token: z.string().trim().min(4, 'must be a token id or prefix (at least 4 characters)').max(64) }),
    { token: idOrPrefix },
    { token: '<token>' },
  ).token;
  let revoked: TokenRecord;
  if (options.direct) {
    const found = await onDatabase(options, (db) => revokeToken(db, target));
    if (!found) throw new CliError(`no token ${target}`, ExitCode.notFound);
    revoked = found;
  } else {
    revoked = await (await ApiClient.connect(options)).delete<TokenRecord>(`/v1/tokens/${encodeURIComponent(target)}`);
  }
  if (options.json) return printJson(revoked);
  print(`token ${revoked.prefix} of ${revoked.owner} (${revoked.id}): revoked ${time(revoked.revokedAt)}`);
}
