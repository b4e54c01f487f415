import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig } from '../config/app-config.js';
import { ConsoleAssets, type ConsoleAsset } from './console-assets.js';
import { consoleSecurityHeaders } from './console-headers.js';

/** Paths that belong to the API and the gateway's other HTTP routes: never the console's. */
const SERVER_PATHS = /^\/(api|mcp|\.well-known|healthz|readyz|metrics|k8s|socket\.io)(\/|$)/;
export const CONSOLE_CONFIG_PATH = '/console/config.json';

type Next = () => void;

/** What the console needs to sign people in; public, so the page can read it before anyone has a token. */
export function consoleConfigBody(config: AppConfig): string {
  const oidc = config.console.oidc;
  return JSON.stringify({
    apiBase: '/api/v1',
    ...(oidc ? { oidc: { issuer: oidc.issuer, clientId: oidc.clientId, scopes: oidc.scopes, ...(oidc.resource ? { resource: oidc.resource } : {}) } } : {}),
  });
}

function wantsHtml(req: IncomingMessage): boolean {
  return /\btext\/html\b/.test(req.headers.accept ?? '');
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: ConsoleAsset, headers: Record<string, string>, cache: string): void {
  const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzip! : asset.body;
  res.writeHead(200, {
    ...headers,
    'content-type': asset.contentType,
    'content-length': String(body.length),
    'cache-control': cache,
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Serves the web console at `/`: its built files, its sign-in configuration, and `index.html` for
 * any other GET that a browser navigates to (the SPA's own routes, e.g. `/approvals/<id>`). Anything
 * else (API paths, non-GET, requests that do not accept HTML) goes on to the API's routes.
 */
export function consoleHandler(config: AppConfig): (req: IncomingMessage & { path?: string }, res: ServerResponse, next: Next) => void {
  const assets = ConsoleAssets.load(config.console.dir);
  const headers = consoleSecurityHeaders(config.console.oidc);
  const configBody = consoleConfigBody(config);
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = req.path ?? new URL(req.url ?? '/', 'http://x').pathname;
    if (SERVER_PATHS.test(path)) return next();
    if (path === CONSOLE_CONFIG_PATH) {
      res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(req.method === 'HEAD' ? undefined : configBody);
    }
    const file = path === '/index.html' ? undefined : assets.get(path);
    if (file) return sendAsset(req, res, file, headers, file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (!wantsHtml(req) || path.startsWith('/assets/')) return next();
    const index = assets.indexHtml;
    if (!index) {
      res.writeHead(503, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(`The web console is not built (no index.html in ${assets.dir}): run \`npm run -s build\`.\n`);
    }
    sendAsset(req, res, index, headers, 'no-cache');
  };
}
