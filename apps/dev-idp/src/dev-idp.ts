import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import Provider, { type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { DEMO_CLIENTS, DEV_TENANT_ID, demoClientSecret, findDemoClient } from './clients.js';
import { loadOrCreateSigningKeys, orderForSigning, type SigningAlg } from './signing-keys.js';
import { requestClientCredentialsToken } from './token-client.js';
import { EntraTokenMinter } from './entra-tokens.js';
import { WorkloadRoutes } from './workload-routes.js';
import { CONSOLE_CLIENT_ID, findDemoUser, userTokenClaims } from './users.js';
import { escapeHtml, LoginPages, page } from './login-pages.js';

export const DEFAULT_PORT = 9000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_RESOURCE = 'api://gateway';
export const DEFAULT_KEY_FILE = '.data/dev-idp/signing-keys.json';
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface DevIdpOptions {
  /** 0 picks a free port (tests). Default 9000. */
  port?: number;
  host?: string;
  /** Defaults to `http://<host>:<bound port>`. */
  issuer?: string;
  /** Where the private signing keys live; relative paths are resolved against the working directory. */
  keyFile?: string;
  tokenTtlSeconds?: number;
  signingAlg?: SigningAlg;
  /**
   * Redirect URIs of the console's public client besides the loopback ones (`http://127.0.0.1:<any
   * port>/callback`, `http://localhost:<any port>/callback`), e.g. `https://gw.example.com/callback`.
   */
  consoleRedirectUris?: string[];
}

/** Loopback redirects of a native client match on any port (RFC 8252 7.3), so tests on random ports work. */
const LOOPBACK_CONSOLE_ORIGINS = ['http://127.0.0.1', 'http://localhost'];

export interface DevIdp {
  issuer: string;
  port: number;
  issueToken(clientId: string, opts?: { resource?: string }): Promise<string>;
  /** Test issuers of the platforms, Entra's assertion token endpoint, managed identity endpoints. */
  workloads: WorkloadRoutes;
  close(): Promise<void>;
}

/** Entra-like claims (v2 app-token shape) added to every client-credentials access token. */
export function entraLikeClaims(clientId: string | undefined): Record<string, unknown> | undefined {
  const client = clientId === undefined ? undefined : findDemoClient(clientId);
  if (client === undefined) return undefined;
  return {
    tid: DEV_TENANT_ID,
    oid: client.oid,
    azp: client.clientId,
    roles: client.roles,
    groups: client.groups,
    idtyp: 'app',
    ver: '2.0',
    name: client.name,
    ...(client.managedIdentityResourceId ? { xms_mirid: client.managedIdentityResourceId } : {}),
  };
}

/** Claims of any access token: a demo workload's (client credentials) or a demo user's (console sign-in). */
function accessTokenClaims(token: { clientId?: string; accountId?: string }): Record<string, unknown> | undefined {
  const user = token.accountId === undefined ? undefined : findDemoUser(token.accountId);
  if (user) return userTokenClaims(user, token.clientId ?? CONSOLE_CLIENT_ID);
  return entraLikeClaims(token.clientId);
}

function consoleClient(extraRedirectUris: string[], alg: SigningAlg): ClientMetadata {
  const origins = [...LOOPBACK_CONSOLE_ORIGINS, ...extraRedirectUris.map((uri) => new URL(uri).origin)];
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: 'Gateway console',
    // native: loopback redirect URIs match on any port; a public client (no secret) must use PKCE.
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [...LOOPBACK_CONSOLE_ORIGINS.map((o) => `${o}/callback`), ...extraRedirectUris],
    post_logout_redirect_uris: [...new Set(origins)].map((o) => `${o}/`),
    id_token_signed_response_alg: alg,
  };
}

function providerConfiguration(keys: Awaited<ReturnType<typeof loadOrCreateSigningKeys>>, ttl: number, alg: SigningAlg, consoleRedirectUris: string[]): Configuration {
  const consoleOrigins = new Set(consoleRedirectUris.map((uri) => new URL(uri).origin));
  return {
    clients: [
      ...DEMO_CLIENTS.map((client) => ({
        client_id: client.clientId,
        client_secret: demoClientSecret(client.clientId),
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic' as const,
      })),
      consoleClient(consoleRedirectUris, alg),
    ],
    jwks: { keys: orderForSigning(keys, alg) },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: (_ctx, sub) => {
      const user = findDemoUser(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: () => ({ sub, name: user.name, preferred_username: user.email, email: user.email }) };
    },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The console calls the token endpoint from its own origin: any loopback port, or a configured redirect's origin.
    clientBasedCORS: (_ctx, origin, client) =>
      client.clientId === CONSOLE_CLIENT_ID && (consoleOrigins.has(origin) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(origin)),
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', `<h1>Sign-in error</h1>${Object.entries(out).map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</p>`).join('')}`);
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = page('Sign out - dev IdP', `<h1>Sign out of the dev IdP?</h1>${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button><button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = page('Signed out - dev IdP', '<h1>Signed out</h1><p class="note">You can close this page.</p>');
        },
      },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // A client that names no resource gets a token for the gateway, like Entra's `.default` scope would.
        defaultResource: () => DEFAULT_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: KoaContextWithOIDC, resourceIndicator: string) => ({
          audience: resourceIndicator,
          scope: '',
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt' as const,
          jwt: { sign: { alg } },
        }),
      },
    },
    extraTokenClaims: (_ctx, token) => accessTokenClaims(token),
    ttl: { ClientCredentials: ttl, AccessToken: ttl, IdToken: ttl, Grant: ttl, Session: ttl, Interaction: 600, AuthorizationCode: 60 },
  };
}

/**
 * Starts the development OIDC provider (oidc-provider 9: client credentials for the demo workloads,
 * authorization code + PKCE with a login page for the demo users of the console) — a stand-in for Entra
 * in the quick start and tests. Never for production: the demo client secrets are public.
 */
export async function startDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  const host = options.host ?? DEFAULT_HOST;
  const ttl = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 24 * 3600) throw new Error('dev IdP token lifetime must be 1..86400 seconds');
  const keys = await loadOrCreateSigningKeys(resolve(options.keyFile ?? DEFAULT_KEY_FILE));

  // The issuer names the port, which is known only once listening; the handler is installed before
  // that all the same, because a request accepted with no 'request' listener is never answered (a
  // readiness probe racing the start hung forever). Until the provider is built it answers 503.
  const ready: { serve?: (request: IncomingMessage, response: ServerResponse) => void } = {};
  const server = createServer((request, response) => {
    if (ready.serve) return ready.serve(request, response);
    response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    response.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'the dev IdP is starting' }));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const localBase = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const issuer = options.issuer ?? localBase;

  const signingAlg = options.signingAlg ?? 'ES256';
  const provider = new Provider(issuer, providerConfiguration(keys, ttl, signingAlg, options.consoleRedirectUris ?? []));
  const logins = new LoginPages(provider);
  const handle = provider.callback();
  const entra = await EntraTokenMinter.create(issuer, orderForSigning(keys, signingAlg)[0]!, ttl, (clientId) => entraLikeClaims(clientId));
  const workloads = await WorkloadRoutes.create(issuer, entra, DEFAULT_RESOURCE);
  // Koa's callback answers its own errors (500 with an OAuth error body); nothing is left to await here.
  ready.serve = (request, response) => {
    if (workloads.handle(request, response)) return;
    if (logins.handle(request, response)) return;
    void handle(request, response);
  };

  return {
    issuer,
    port,
    issueToken: (clientId, opts = {}) => requestClientCredentialsToken(`${localBase}/token`, clientId, opts),
    workloads,
    close: () =>
      new Promise<void>((resolveClose, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolveClose()));
      }),
  };
}
