import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { connectionFailureReason } from '../errors.js';
import { ExportSelection } from '../export/schema.js';
import { publicKeyFromFile } from '../export/signing.js';
import { verifyExport } from '../export/verify.js';
import { ApiClient, describeProblem, idArgument, parseInput, type ConnectionOptions, type Query } from './api.js';
import { CliError, ExitCode, ExitWith, exitCodeForStatus } from './exit.js';
import { print, printJson } from './output.js';

// What `correx export …` and `correx audit …` do (the commands are defined in ./compliance.ts).

/** Streams a response body to a file (or stdout) without holding it: exports can be large. */
async function download(client: ApiClient, route: string, query: Query, output: string | undefined): Promise<number> {
  const { server, token } = client.connection;
  const search = new URLSearchParams(Object.entries(query).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])));
  let response: Response;
  try {
    response = await fetch(`${server}${route}${search.size ? `?${search}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new CliError(
      `cannot reach Correx at ${server}: ${connectionFailureReason(error instanceof Error && error.cause !== undefined ? error.cause : error)}`,
      ExitCode.failure,
    );
  }
  if (!response.ok || !response.body) {
    const problem = (await response.json().catch(() => ({}))) as Parameters<typeof describeProblem>[0];
    throw new CliError(`${describeProblem(problem, response.statusText)} (HTTP ${response.status})`, exitCodeForStatus(response.status));
  }
  let bytes = 0;
  const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => (bytes += chunk.length));
  await pipeline(body, output ? createWriteStream(output) : process.stdout);
  return bytes;
}

export async function timeline(
  options: ConnectionOptions & { incident?: string; system?: string; severity?: string; from?: string; to?: string; format: string; output?: string },
): Promise<void> {
  const selection = parseInput(
    ExportSelection,
    { incidentId: options.incident, systemId: options.system, severity: options.severity, from: options.from, to: options.to, format: options.format },
    { incidentId: '--incident', systemId: '--system' },
  );
  const client = await ApiClient.connect(options);
  const bytes = await download(client, '/v1/exports', selection, options.output);
  if (options.output) process.stderr.write(`correx: wrote ${bytes} bytes to ${options.output}\n`);
}

export async function report(incidentId: string, options: ConnectionOptions & { output?: string }): Promise<void> {
  const id = idArgument(incidentId, 'an incident', '<incidentId>');
  const bytes = await download(await ApiClient.connect(options), `/v1/incidents/${id}/report`, {}, options.output);
  if (options.output) process.stderr.write(`correx: wrote ${bytes} bytes to ${options.output}\n`);
}

export async function mappings(incidentId: string, options: ConnectionOptions & { schema?: string }): Promise<void> {
  const id = idArgument(incidentId, 'an incident', '<incidentId>');
  const client = await ApiClient.connect(options);
  const result = await client.get<{
    items: { schema: string; reference: string; fields: Record<string, string | null>; missing: { field: string; why: string }[] }[];
  }>(`/v1/incidents/${id}/regulator-mappings`, { schema: options.schema });
  if (options.json) return printJson(result);
  for (const mapping of result.items) {
    print(`${mapping.schema} (${mapping.reference})`);
    for (const [field, value] of Object.entries(mapping.fields)) print(`  ${field}: ${value === null ? '-' : value.split('\n')[0]}`);
    for (const m of mapping.missing) print(`  MISSING ${m.field}: ${m.why}`);
    print();
  }
}

export async function verify(file: string, options: { publicKey?: string; json?: boolean }): Promise<void> {
  parseInput(z.object({ file: z.string().min(1) }), { file }, { file: '<export-file>' });
  const keyFile = options.publicKey
    ? await readFile(options.publicKey, 'utf8').catch((error: Error) => {
        throw new CliError(`cannot read --public-key ${options.publicKey}: ${error.message}`, ExitCode.usage);
      })
    : undefined;
  const publicKeyPem = keyFile === undefined ? undefined : publicKeyFromFile(keyFile);
  if (keyFile !== undefined && publicKeyPem === undefined) {
    throw new CliError(`--public-key ${options.publicKey} holds neither a PEM public key nor the JSON of /.well-known/correx-signing-key`, ExitCode.usage);
  }
  const input = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  await opened.catch((error: Error) => {
    throw new CliError(`cannot read ${file}: ${error.message}`, ExitCode.usage);
  });
  const result = await verifyExport(createInterface({ input, crlfDelay: Infinity }), publicKeyPem ? { publicKeyPem } : {});
  if (options.json) printJson(result);
  else if (result.ok) {
    print(
      `verified: ${result.incidents} incident${result.incidents === 1 ? '' : 's'}, ${result.events} events, signed by key ${result.keyId}${result.keyPinned ? '' : ' (the key inside the file; pin one with --public-key)'}`,
    );
  } else {
    if (result.broken)
      print(`FAILED: event ${result.broken.seq} of incident ${result.broken.incidentId} (line ${result.broken.line}): ${result.broken.reason}`);
    for (const problem of result.problems) print(`FAILED: ${problem}`);
  }
  if (!result.ok) throw new ExitWith(ExitCode.failure);
}
