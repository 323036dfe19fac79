#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx, so there is no build step to forget.
import { register } from 'tsx/esm/api';

// A reader that stops early (`correx … | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

register();
const { main } = await import('../services/cli/main.ts');
process.exitCode = await main(process.argv);
