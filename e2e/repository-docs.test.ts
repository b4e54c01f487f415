import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * The documentation stays inside the repository (no links to files a reader of this repository does
 * not have), and the Node version it asks for is the one package.json promises and every installed
 * package accepts (otherwise `npm ci` prints EBADENGINE warnings).
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function markdownFiles(): string[] {
  const packageReadmes = ['apps', 'libs'].flatMap((group) =>
    readdirSync(join(ROOT, group)).map((name) => join(group, name, 'README.md')).filter((p) => existsSync(join(ROOT, p))),
  );
  const docs = existsSync(join(ROOT, 'docs')) ? readdirSync(join(ROOT, 'docs'), { recursive: true }).map(String).filter((p) => p.endsWith('.md')).map((p) => join('docs', p)) : [];
  return ['README.md', ...docs, ...packageReadmes];
}

const FILES = markdownFiles();
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

describe('documentation stays inside the repository', () => {
  it('covers the README, docs/ and every package README', () => {
    expect(FILES).toContain('docs/architecture.md');
    expect(FILES.filter((f) => f.startsWith('apps/')).length).toBeGreaterThanOrEqual(3);
    expect(FILES.filter((f) => f.startsWith('libs/')).length).toBeGreaterThanOrEqual(7);
  });

  it('has no paths to files outside the repository (shared folders, home directories, this machine)', () => {
    const outside = /\.\.\/shared\b|\/work\/|\/home\/[a-z]|\/root\/|file:\/\/|\/Users\/|[A-Z]:\\\\/g;
    const found = FILES.flatMap((file) => [...read(file).matchAll(outside)].map((m) => `${file}: ${m[0]}`));
    expect(found).toEqual([]);
  });

  it('every relative link resolves to a file or folder of the repository', () => {
    const problems: string[] = [];
    for (const file of FILES) {
      for (const match of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const path = resolve(ROOT, dirname(file), target.replace(/#.*$/, ''));
        const inside = relative(ROOT, path);
        if (inside.startsWith('..') || resolve(inside) === inside) problems.push(`${file}: ${target} leaves the repository`);
        else if (!existsSync(path)) problems.push(`${file}: ${target} does not exist`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('links to other sites use https and are not internal hosts', () => {
    const problems: string[] = [];
    for (const file of FILES) {
      for (const match of read(file).matchAll(/\]\((https?:\/\/[^)\s]+)\)/g)) {
        const url = new URL(match[1]!);
        if (url.protocol !== 'https:') problems.push(`${file}: ${url.href} is not https`);
        if (/\.(internal|local|corp|lan)$|^(localhost|127\.|10\.|192\.168\.)/.test(url.hostname)) problems.push(`${file}: ${url.href} is an internal host`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the README points to docs/architecture.md for the design', () => {
    expect(read('README.md')).toMatch(/\]\(docs\/architecture\.md\)/);
  });
});

describe('the Node version the project asks for', () => {
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
  const minimum = semver.minVersion(pkg.engines.node)!;

  it('is the one the README states', () => {
    const stated = /Requirements: Node (\d+\.\d+(?:\.\d+)?) or newer/.exec(read('README.md'))?.[1];
    expect(stated, 'README "Requirements: Node <version> or newer"').toBeDefined();
    expect(semver.eq(semver.coerce(stated)!, minimum)).toBe(true);
  });

  it('is accepted by every package in package-lock.json (npm ci prints no EBADENGINE)', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!range || !path) continue;
      for (const version of [minimum.version, process.version]) {
        if (!semver.satisfies(version, range)) refused.push(`${path}@${entry.version}: node ${range} refuses ${version}`);
      }
    }
    expect(refused).toEqual([]);
  });
});
