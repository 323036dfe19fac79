#!/usr/bin/env node
// Compiles Correx's TypeScript to JavaScript in dist/, one file at a time (esbuild, no bundling), with
// source maps; `bin/correx.js` runs the result. Type checking is separate: `npm run typecheck`.
//
//   node scripts/build.mjs                      build now (`npm run build`)
//   node scripts/build.mjs --if-stale           build only when dist/ is missing or older than a source
//                                               (scripts/setup.sh, the test run); says which it did
//   node scripts/build.mjs --if-stale --quiet   the same, silent unless it builds (then on stderr)
//
// dist/ mirrors the repository: services/cli/main.ts becomes dist/services/cli/main.js. It is built
// aside and swapped in whole, under a lock, so processes running from it (or builds started at the same
// moment by other test runs in the same tree) never see a half-written tree.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** What is compiled: everything the CLI, API and worker load at run time. */
export const sourceDirs = ['services', 'workflows', 'activities', 'migrations'];
/** Changes to these rebuild too: they decide how the sources are compiled. */
const buildInputs = ['scripts/build.mjs', 'tsconfig.json', 'package-lock.json'];
const dist = path.join(root, 'dist');
const stampFile = '.build.json';
// Next to node_modules' other caches: ignored by git, ESLint and tsc, and on the same file system as dist/.
const work = path.join(root, 'node_modules', '.cache', 'correx-build');
const lockDir = path.join(work, 'lock');

/** Every file under the source folders (relative, sorted), TypeScript or not; tests and declarations left out. */
function listSources() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && !/\.d\.[cm]?ts$|\.test\.ts$/.test(entry.name)) files.push(rel);
    }
  };
  for (const dir of sourceDirs) if (existsSync(path.join(root, dir))) walk(dir);
  return files.sort();
}

/** Why dist/ needs building, or undefined when it is current. */
function staleness(files) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(dist, stampFile), 'utf8'));
  } catch {
    return existsSync(dist) ? 'dist/ has no build stamp' : 'dist/ is missing';
  }
  if (stamp.files?.join('\n') !== files.join('\n')) return 'source files were added, moved or removed';
  const changed = [...buildInputs, ...files].filter((file) => {
    try {
      return statSync(path.join(root, file)).mtimeMs > stamp.startedAt;
    } catch {
      return false;
    }
  });
  if (changed.length)
    return `${changed.length} file${changed.length === 1 ? '' : 's'} changed since the last build (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', …' : ''})`;
  return undefined;
}

// `from './x.ts'`, `import './x.ts'`, `import('./x.ts')`: Node runs the compiled `.js`. Same length, so
// the source maps stay exact.
const tsSpecifier = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.{1,2}\/[^'"\n]*?)\.([mc]?)ts\2/g;

async function compile(files, outdir) {
  const esbuild = await import('esbuild');
  const typescript = files.filter((f) => /\.[cm]?ts$/.test(f));
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: typescript,
    // Laid out as dist/ (so the source maps point from there back to the sources), written to outdir.
    outdir: dist,
    outbase: '.',
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    outExtension: { '.js': '.js' },
    write: false,
    logLevel: 'error',
  });
  for (const out of result.outputFiles) {
    const file = path.join(outdir, path.relative(dist, out.path));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, file.endsWith('.js') ? out.text.replace(tsSpecifier, '$1$2$3.$4js$2') : out.contents);
  }
  // Anything else in the source folders (data files read next to the code) is copied as it is.
  for (const file of files.filter((f) => !typescript.includes(f))) {
    mkdirSync(path.dirname(path.join(outdir, file)), { recursive: true });
    cpSync(path.join(root, file), path.join(outdir, file));
  }
  return typescript.length;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** One build at a time in this tree; a lock left by a process that died is taken over. */
async function withLock(run) {
  mkdirSync(work, { recursive: true });
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let owner = 0;
      let age = 0;
      try {
        age = Date.now() - statSync(lockDir).mtimeMs;
        owner = Number(readFileSync(path.join(lockDir, 'pid'), 'utf8')) || 0;
      } catch {
        // released meanwhile, or its pid not written yet
      }
      if ((owner && !alive(owner)) || (!owner && age > 10_000)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another build (pid ${owner}) holds ${path.relative(root, lockDir)}`);
      await sleep(100);
    }
  }
  try {
    return await run();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * Builds dist/ (when `ifStale`, only if it is stale) and says what it did, in one line.
 * Exported for the test run's global setup.
 */
export async function build({ ifStale = false } = {}) {
  if (ifStale) {
    const reason = staleness(listSources());
    if (!reason) return { built: false, message: 'dist/ is up to date' };
  }
  return withLock(async () => {
    const started = performance.now();
    const startedAt = Date.now();
    const files = listSources();
    // Another build may have finished while this one waited for the lock.
    const reason = staleness(files);
    if (ifStale && !reason) return { built: false, message: 'dist/ is up to date' };
    const fresh = path.join(work, `new-${process.pid}`);
    const old = path.join(work, `old-${process.pid}`);
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
    const count = await compile(files, fresh);
    writeFileSync(path.join(fresh, stampFile), JSON.stringify({ startedAt, files }, null, 1) + '\n');
    try {
      if (existsSync(dist)) renameSync(dist, old);
      renameSync(fresh, dist);
    } catch (error) {
      if (error.code !== 'EXDEV') throw error;
      rmSync(dist, { recursive: true, force: true });
      cpSync(fresh, dist, { recursive: true });
      rmSync(fresh, { recursive: true, force: true });
    }
    rmSync(old, { recursive: true, force: true });
    const ms = Math.round(performance.now() - started);
    return { built: true, message: `built dist/: ${count} TypeScript files compiled in ${ms} ms${reason ? ` (${reason})` : ''}` };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--if-stale' && a !== '--quiet');
  if (unknown.length) {
    process.stderr.write(`build: unknown option ${unknown[0]} (expected --if-stale, --quiet)\n`);
    process.exit(2);
  }
  try {
    const { built, message } = await build({ ifStale: args.includes('--if-stale') });
    if (!args.includes('--quiet')) process.stdout.write(`${message}\n`);
    else if (built) process.stderr.write(`correx: ${message}\n`);
  } catch (error) {
    // esbuild has already printed each error with its file and line.
    process.stderr.write(`build: failed: ${error.message.split('\n')[0]}\n`);
    process.exit(1);
  }
}
