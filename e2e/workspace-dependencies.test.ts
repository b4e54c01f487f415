import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The images install only their app's production dependencies (`npm ci --omit=dev --workspace`), so a
 * package that an app or library imports at run time but does not declare is missing in the image even
 * though it resolves in a full checkout (npm hoists every workspace's packages to the root). That is
 * how the control plane image once failed to start: it imported @gw/protocol-postgres undeclared.
 */
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });

const isRuntimeSource = (file: string) => /\.tsx?$/.test(file) && !/\.(spec|test)\.tsx?$/.test(file) && !file.endsWith('.d.ts');

/** Package names a source file imports at run time (type-only imports vanish in the build). */
function runtimeImports(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^'";]*?\bfrom\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    specs.push((m[1] ?? m[2] ?? m[3])!);
  }
  return specs
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s.split('/')[0]!))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

const workspaces = ['apps', 'libs'].flatMap((group) => readdirSync(group).map((name) => join(group, name)))
  .filter((dir) => statSync(join(dir, 'src'), { throwIfNoEntry: false })?.isDirectory() && statSync(join(dir, 'package.json'), { throwIfNoEntry: false }));

describe('every workspace declares what its runtime code imports', () => {
  it('finds the workspaces', () => {
    expect(workspaces).toEqual(expect.arrayContaining(['apps/agent', 'apps/control-plane', 'apps/dev-idp', 'libs/tunnel']));
  });
  for (const dir of workspaces) {
    it(dir, () => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
      const declared = new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      const undeclared = new Set<string>();
      for (const file of walk(join(dir, 'src')).filter(isRuntimeSource)) {
        for (const name of runtimeImports(readFileSync(file, 'utf8'))) if (!declared.has(name)) undeclared.add(`${name} (${file})`);
      }
      expect([...undeclared]).toEqual([]);
    });
  }
  it('the import reader sees value imports and skips type-only ones', () => {
    expect(runtimeImports(`import { a,\n  b } from '@gw/x/sub';\nimport type { T } from 'types-only';\nexport { c } from 'lib';\nimport 'side-effect';\nconst m = await import('lazy');\nimport { x } from './local.js';\nimport { readFile } from 'node:fs/promises';`))
      .toEqual(['@gw/x', 'lib', 'side-effect', 'lazy']);
  });
});
