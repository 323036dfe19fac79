import { z } from 'zod';
import { InvalidInput } from '../errors.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { createToken, listTokens, revokeToken } from './repository.js';
import { personRoles } from './roles.js';
import { CreatedToken, TokenRecord, TokenRequest } from './schema.js';

export function accessRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['tokens'];
  app.post('/v1/tokens', {
    config: {
      access: ['admin'],
      links: { 201: { revoke: { operationId: 'revokeToken', parameters: { token: '$response.body#/token/id' } } } },
    },
    schema: {
      tags,
      operationId: 'createToken',
      summary: 'Create an API token or integration key; the secret is in this response only',
      body: TokenRequest,
      response: { 201: CreatedToken.describe('The token, with its secret: shown this once') },
    },
    handler: async (request, reply) => {
      const { ownerOutsideRunbooks, ...tokenRequest } = request.body;
      const actsAsPerson = tokenRequest.roles.some((role) => (personRoles as readonly string[]).includes(role));
      if (actsAsPerson && !ownerOutsideRunbooks) {
        const people = await deps.runbooks.peopleIds();
        if (!people.has(tokenRequest.owner)) {
          throw new InvalidInput([
            {
              path: 'body.owner',
              message: `'${tokenRequest.owner}' is no person in the runbooks (${[...people].sort().slice(0, 8).join(', ')}${people.size > 8 ? ', …' : ''}): the timeline would record an actor nobody knows; to mint it anyway, send ownerOutsideRunbooks: true (correx token create --owner-outside-runbooks)`,
            },
          ]);
        }
      }
      const created = await createToken(deps.db, tokenRequest, { createdBy: actorOf(request) });
      request.log.info({ tokenId: created.token.id, owner: created.token.owner, by: request.principal?.owner }, 'token created');
      return reply.code(201).send(created);
    },
  });

  app.get('/v1/tokens', {
    config: { access: ['admin'] },
    schema: {
      tags,
      operationId: 'listTokens',
      summary: 'Tokens (prefixes only, never secrets), oldest first',
      querystring: z.strictObject({ includeRevoked: z.enum(['true', 'false']).optional() }),
      response: { 200: z.strictObject({ items: z.array(TokenRecord) }).describe('Tokens, oldest first; revoked ones only with includeRevoked=true') },
    },
    handler: async (request) => ({ items: await listTokens(deps.db, { includeRevoked: request.query.includeRevoked === 'true' }) }),
  });

  app.delete('/v1/tokens/:token', {
    config: { access: ['admin'] },
    schema: {
      tags,
      operationId: 'revokeToken',
      summary: 'Revoke a token by id or prefix; it stops working at once (revoking twice keeps the first time)',
      params: z.strictObject({
        token: z.union(
          [z.uuid(), z.string().regex(/^(crx_[A-Za-z0-9_-]{8}|[0-9a-f]{8})$/)],
          'must be a token id (UUID) or its prefix (crx_xxxxxxxx, or 8 hex characters for an integration key)',
        ),
      }),
      response: { 200: TokenRecord.describe('The token, revoked') },
    },
    handler: async (request) => {
      const revoked = await revokeToken(deps.db, request.params.token);
      if (!revoked) throw new NotFound(`no token ${request.params.token}`);
      request.log.info({ tokenId: revoked.id, by: request.principal?.owner }, 'token revoked');
      return revoked;
    },
  });
}
