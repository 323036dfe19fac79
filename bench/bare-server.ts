// The ingestion baselines: the same framework (Fastify 5) with one bare route that parses the JSON
// body and answers 202, in a process of its own like `correx api`. With a database URL, the route
// also stores each alert as Correx does (its batched signal writer, one upsert per batch) before it
// answers: the floor of "stored before 202" on this machine, without authentication, validation,
// runbooks or Temporal.
// Usage: node --import tsx bench/bare-server.ts <port> [<database url>]
import Fastify from 'fastify';
import { openDatabase } from '../services/db/connect.js';
import { SignalWriter } from '../services/monitoring/repository.js';
import type { SignalInput } from '../services/monitoring/signal.js';

const port = Number(process.argv[2]);
const databaseUrl = process.argv[3];
const database = databaseUrl ? await openDatabase({ url: databaseUrl }) : undefined;
const writer = database ? new SignalWriter(database.db) : undefined;
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/v1/ingest/alertmanager', async (request, reply) => {
  const body = request.body as { alerts?: { status: 'firing' | 'resolved'; labels: Record<string, string>; startsAt: string; fingerprint: string }[] };
  let duplicates = 0;
  if (writer) {
    const stored = await Promise.all(
      (body.alerts ?? []).map((alert) =>
        writer.store(
          {
            systemId: 'bare-baseline',
            source: 'alertmanager',
            status: alert.status,
            labels: alert.labels,
            at: alert.startsAt,
            idempotencyKey: `${alert.fingerprint}:${alert.startsAt}:${alert.status}`,
            alertKey: alert.fingerprint,
          } as SignalInput,
          new Date(),
        ),
      ),
    );
    duplicates = stored.filter((s) => !s.fresh).length;
  }
  return reply.code(202).send({ accepted: body.alerts?.length ?? 0, duplicates });
});
await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`bare server: serving http://127.0.0.1:${port}${writer ? ' (storing each alert)' : ''}\n`);
const stop = () =>
  void app
    .close()
    .then(() => database?.close())
    .then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
