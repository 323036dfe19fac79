// Runs one JSON export in a process of its own and reports its peak memory, so a test can compare sizes.
// Usage: node --import tsx test/support/export-child.ts <database-url> <incident-id>
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { openDatabase } from '../../services/db/connect.js';
import { generateSigningKey } from '../../services/export/signing.js';
import { jsonExport, selectIncidents } from '../../services/export/stream.js';

const [url, incidentId] = process.argv.slice(2);
const handle = await openDatabase({ url: url! });
const incidents = await selectIncidents(handle.db, { incidentId: incidentId!, format: 'json' });
let bytes = 0;
const started = Date.now();
await pipeline(
  Readable.from(
    jsonExport(
      handle.db,
      incidents,
      { exportId: 'memory-check', exportedAt: new Date().toISOString(), exportedBy: 'test', selection: { incidentId: incidentId! } },
      generateSigningKey(),
    ),
  ),
  new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      bytes += chunk.length;
      done();
    },
  }),
);
await handle.close();
process.stdout.write(JSON.stringify({ bytes, ms: Date.now() - started, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
