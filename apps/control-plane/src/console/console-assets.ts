import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.txt', '.wasm']);
/** A console build is a few hundred KiB; anything far larger is not one and is not loaded into memory. */
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;

export interface ConsoleAsset {
  contentType: string;
  body: Buffer;
  gzip?: Buffer;
  /** Vite names files under assets/ by content hash: they never change under their name. */
  immutable: boolean;
}

/**
 * The built console, read once at start into memory (with gzip): only files that exist in the build
 * can be answered, so no request path ever reaches the file system.
 */
export class ConsoleAssets {
  private constructor(
    private readonly files: ReadonlyMap<string, ConsoleAsset>,
    readonly dir: string,
  ) {}

  static load(dir: string): ConsoleAssets {
    const files = new Map<string, ConsoleAsset>();
    if (!existsSync(join(dir, 'index.html'))) return new ConsoleAssets(files, dir);
    let total = 0;
    const walk = (folder: string): void => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) {
          walk(path);
          continue;
        }
        if (!entry.isFile()) continue;
        const type = CONTENT_TYPES[extname(entry.name)];
        if (!type) continue;
        total += statSync(path).size;
        if (total > MAX_TOTAL_BYTES) throw new Error(`${dir} holds more than ${MAX_TOTAL_BYTES} bytes: not a console build`);
        const body = readFileSync(path);
        const urlPath = `/${relative(dir, path).split(sep).join('/')}`;
        files.set(urlPath, {
          contentType: type,
          body,
          ...(COMPRESSIBLE.has(extname(entry.name)) && body.length > 512 ? { gzip: gzipSync(body, { level: 9 }) } : {}),
          immutable: urlPath.startsWith('/assets/'),
        });
      }
    };
    walk(dir);
    return new ConsoleAssets(files, dir);
  }

  get built(): boolean {
    return this.files.has('/index.html');
  }

  get(urlPath: string): ConsoleAsset | undefined {
    return this.files.get(urlPath);
  }

  get indexHtml(): ConsoleAsset | undefined {
    return this.files.get('/index.html');
  }
}
