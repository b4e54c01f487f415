import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '../src/config/app-config.js';
import { consoleHandler } from '../src/console/console-http.js';

/** The console middleware on a plain HTTP server; whatever it passes on answers 404 "api". */
async function serve(config: AppConfig): Promise<{ url: string; server: Server }> {
  const handle = consoleHandler(config);
  const server = createServer((req, res) => handle(req, res, () => res.writeHead(404, { 'content-type': 'text/plain' }).end('api')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

describe('the control plane serves the console', () => {
  let dir: string;
  let built: { url: string; server: Server };
  let unbuilt: { url: string; server: Server };
  const html = { accept: 'text/html,application/xhtml+xml' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app-abc.js"></script>');
    writeFileSync(join(dir, 'assets', 'app-abc.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
    writeFileSync(join(dir, 'assets', 'secret.env'), 'TOKEN=1');
    built = await serve(loadConfig({ CONSOLE_DIR: dir, OIDC_ISSUERS: JSON.stringify([{ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', audience: 'api://x' }, { issuer: 'http://127.0.0.1:9000', audience: 'api://gateway' }]) }));
    unbuilt = await serve(loadConfig({ CONSOLE_DIR: join(dir, 'missing') }));
  });
  afterAll(() => {
    built.server.close();
    unbuilt.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers browser navigations to any console route with index.html and its security headers', async () => {
    for (const path of ['/', '/approvals/1f6b1c8e-0000-4000-8000-000000000000', '/sessions?status=active', '/callback?code=x&state=y']) {
      const res = await fetch(built.url + path, { headers: html });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('/assets/app-abc.js');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("connect-src 'self' http://127.0.0.1:9000");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('passes API and gateway paths, non-GET requests and non-browser requests to the API', async () => {
    for (const path of ['/api/v1/whoami', '/api', '/mcp', '/mcp/files', '/.well-known/oauth-protected-resource', '/healthz', '/readyz', '/metrics']) {
      expect(await (await fetch(built.url + path, { headers: html })).text()).toBe('api');
    }
    expect(await (await fetch(`${built.url}/approvals`, { method: 'POST', headers: html })).text()).toBe('api');
    expect(await (await fetch(`${built.url}/approvals`, { headers: { accept: 'application/json' } })).text()).toBe('api');
    // A missing asset is a 404 from the API, never the page (a script tag must not get HTML).
    expect(await (await fetch(`${built.url}/assets/gone-123.js`, { headers: html })).text()).toBe('api');
  });

  it('serves built files only (gzip when asked, immutable under assets/), nothing else from disk', async () => {
    // fetch would unzip on its own: read the bytes as they come.
    const js = await new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      get(`${built.url}/assets/app-abc.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');
    expect(js.headers['content-encoding']).toBe('gzip');
    expect(js.body.length).toBeLessThan(1000);
    expect(gunzipSync(js.body).toString()).toContain('console.log');
    for (const path of ['/assets/secret.env', '/assets/../index.html/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd']) {
      const res = await fetch(built.url + path, { headers: { accept: '*/*' } });
      expect(await res.text()).toBe('api');
    }
  });

  it('publishes the sign-in configuration: the first concrete issuer, its audience as resource, overridable by env', async () => {
    const config = await (await fetch(`${built.url}/console/config.json`)).json();
    expect(config).toEqual({ apiBase: '/api/v1', oidc: { issuer: 'http://127.0.0.1:9000', clientId: 'gateway-console', scopes: 'openid profile', resource: 'api://gateway' } });
    const entra = loadConfig({ CONSOLE_OIDC_ISSUER: 'https://login.microsoftonline.com/5f1b9c2e-7a43-4d8e-9b61-0c2d3e4f5a6b/v2.0', CONSOLE_OIDC_CLIENT_ID: 'c0ffee', CONSOLE_OIDC_SCOPES: 'openid profile api://gateway/.default', CONSOLE_OIDC_RESOURCE: '' });
    expect(entra.console.oidc).toEqual({ issuer: 'https://login.microsoftonline.com/5f1b9c2e-7a43-4d8e-9b61-0c2d3e4f5a6b/v2.0', clientId: 'c0ffee', scopes: 'openid profile api://gateway/.default' });
  });

  it('says the console is not built instead of serving nothing', async () => {
    const res = await fetch(`${unbuilt.url}/approvals`, { headers: html });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/not built.*npm run -s build/);
  });
});
