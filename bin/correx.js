#!/usr/bin/env node
// Entry point: runs the compiled JavaScript in dist/ (`npm run build`; `scripts/setup.sh`, and so
// `npm run dev` and `npm test`, build it whenever a source is newer than the last build).

// A reader that stops early (`correx … | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// Stack traces name dist/ files; with CORREX_DEBUG (which prints them) they name the TypeScript lines.
if (process.env.CORREX_DEBUG) process.setSourceMapsEnabled(true);

const entry = new URL('../dist/services/cli/main.js', import.meta.url);
let cli;
try {
  cli = await import(entry.href);
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || (await import('node:fs')).existsSync(entry)) throw error;
  process.stderr.write('correx: dist/ has not been built: run `npm run build` (or scripts/setup.sh) first\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv);
