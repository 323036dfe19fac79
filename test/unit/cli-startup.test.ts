import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../support/environment.js';

/**
 * The modules `correx --help` loads: everything services/cli/main.ts imports statically, transitively.
 * `import type` is erased; any other static import (even `import { type X }`, which
 * verbatimModuleSyntax keeps) loads its module. Dynamic `import()` is what the actions use.
 */
function staticGraph(entry: string): { modules: string[]; packages: Map<string, string> } {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gm)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:')) {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!packages.has(name)) packages.set(name, path.relative(projectRoot, file));
      }
    }
  };
  visit(path.join(projectRoot, entry));
  return { modules: [...seen].map((file) => path.relative(projectRoot, file)), packages };
}

describe('correx --help', () => {
  it('loads commander and the command definitions only: zod, the API client and the drivers wait for the command that needs them', () => {
    const { modules, packages } = staticGraph('services/cli/main.ts');
    expect(Object.fromEntries(packages), 'a package imported statically by the command tree (name → first importer)').toEqual({
      commander: 'services/cli/main.ts',
    });
    expect(modules.filter((m) => m.endsWith('-actions.ts'))).toEqual([]);
  });
});
