import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout (or the container's /app): the nearest folder above this module that has a
 * package.json. The same whether the code runs from the sources (services/…) or from the build
 * (dist/services/…, one level deeper), so paths to `.tools/` or `runbooks/` never count `../`.
 */
export const projectRoot: string = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.dirname(from);
  }
}
