// One export in a process of its own, so its peak memory is its own.
// Usage: node --import tsx bench/export-child.ts <database-url> <incident-id> <json|csv|none>
// Prints {lines, bytes, ms, maxRssKb}: ms from the first query to the last byte drained. `none` stops
// before exporting: the memory of the process itself (Node.js, tsx, the modules, a connected pool).
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openDatabase } from '../services/db/connect.js';
import { generateSigningKey } from '../services/export/signing.js';
import { csvExport, jsonExport, selectIncidents } from '../services/export/stream.js';

const [url, incidentId, format] = process.argv.slice(2);
if (!url || !incidentId || (format !== 'json' && format !== 'csv' && format !== 'none'))
  throw new Error('usage: export-child.ts <database-url> <incident-id> <json|csv|none>');
const handle = await openDatabase({ url });
await handle.db.selectFrom('incidents').select('id').limit(1).execute(); // connect before timing
if (format === 'none') {
  await handle.close();
  process.stdout.write(JSON.stringify({ lines: 0, bytes: 0, ms: 0, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
  process.exit(0);
}
const key = generateSigningKey();
let bytes = 0;
let lines = 0;
const started = performance.now();
const incidents = await selectIncidents(handle.db, { incidentId, format });
const source =
  format === 'json'
    ? jsonExport(handle.db, incidents, { exportId: 'bench', exportedAt: new Date().toISOString(), exportedBy: 'bench', selection: { incidentId } }, key)
    : csvExport(handle.db, incidents);
await pipeline(
  Readable.from(source),
  new Writable({
    // Strings are encoded to bytes here, as they would be on their way to a socket or a file.
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
      done();
    },
  }),
);
const ms = performance.now() - started;
await handle.close();
process.stdout.write(JSON.stringify({ lines, bytes, ms, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
