// The ingestion baseline: the same framework (Fastify 5) with one bare route that parses the JSON
// body and answers 202, in a process of its own like `correx api`.
// Usage: node --import tsx bench/bare-server.ts <port>
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/v1/ingest/alertmanager', async (request, reply) => {
  const body = request.body as { alerts?: unknown[] };
  return reply.code(202).send({ accepted: body.alerts?.length ?? 0, duplicates: 0 });
});
await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`bare server: serving http://127.0.0.1:${port}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
