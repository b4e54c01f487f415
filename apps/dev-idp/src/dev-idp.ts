import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { DEMO_CLIENTS, DEV_TENANT_ID, demoClientSecret, findDemoClient } from './clients.js';
import { loadOrCreateSigningKeys, orderForSigning, type SigningAlg } from './signing-keys.js';
import { requestClientCredentialsToken } from './token-client.js';
import { EntraTokenMinter } from './entra-tokens.js';
import { WorkloadRoutes } from './workload-routes.js';

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
}

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

function providerConfiguration(keys: Awaited<ReturnType<typeof loadOrCreateSigningKeys>>, ttl: number, alg: SigningAlg): Configuration {
  return {
    clients: DEMO_CLIENTS.map((client) => ({
      client_id: client.clientId,
      client_secret: demoClientSecret(client.clientId),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: orderForSigning(keys, alg) },
    // Cookies are only used by interactive flows, which are off; keys are still required.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
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
    extraTokenClaims: (_ctx, token) => entraLikeClaims('clientId' in token ? token.clientId : undefined),
    ttl: { ClientCredentials: ttl },
  };
}

/**
 * Starts the development OIDC provider (oidc-provider 9, client-credentials only) — a stand-in for Entra
 * in the quick start and tests. Never for production: the demo client secrets are public.
 */
export async function startDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  const host = options.host ?? DEFAULT_HOST;
  const ttl = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 24 * 3600) throw new Error('dev IdP token lifetime must be 1..86400 seconds');
  const keys = await loadOrCreateSigningKeys(resolve(options.keyFile ?? DEFAULT_KEY_FILE));

  const server = createServer();
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
  const provider = new Provider(issuer, providerConfiguration(keys, ttl, signingAlg));
  const handle = provider.callback();
  const entra = await EntraTokenMinter.create(issuer, orderForSigning(keys, signingAlg)[0]!, ttl, (clientId) => entraLikeClaims(clientId));
  const workloads = await WorkloadRoutes.create(issuer, entra, DEFAULT_RESOURCE);
  // Koa's callback answers its own errors (500 with an OAuth error body); nothing is left to await here.
  server.on('request', (request, response) => {
    if (workloads.handle(request, response)) return;
    void handle(request, response);
  });

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
