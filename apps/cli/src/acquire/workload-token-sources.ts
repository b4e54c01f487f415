import { createHash, createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CliError } from '../errors.js';
import type { Env } from '../settings.js';
import { errorOf, requestJson } from './http-json.js';

/**
 * How `gw` gets a token from the environment a workload runs in, with no secret pasted. Each reads
 * the variables the platform (or the Azure SDKs' conventions) set; see README "gw login".
 */
export const TOKEN_METHODS = ['azure-federated', 'client-certificate', 'managed-identity', 'github-actions', 'kubernetes'] as const;
export type TokenMethod = (typeof TOKEN_METHODS)[number];

export interface AcquireOptions {
  /** Entra resource (scope `<resource>/.default`) for the Entra flows. Default `api://gateway`. */
  resource: string;
  /** `aud` for platform tokens (GitHub Actions). Default `api://gateway`. */
  audience: string;
  /** Projected service account token file (Kubernetes). */
  tokenFile?: string;
}

export interface AcquiredToken {
  token: string;
  expiresAt?: number;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const DEFAULT_IMDS = 'http://169.254.169.254';
export const DEFAULT_KUBERNETES_TOKEN_FILE = '/var/run/secrets/tokens/gateway-token';
const MAX_FILE_BYTES = 64 * 1024;

function required(env: Env, name: string, method: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new CliError(`${method} needs ${name} in the environment`);
  return value.trim();
}

function readSmallFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (text.length > MAX_FILE_BYTES) throw new CliError(`${what} ${path} is too large`);
  return text;
}

function tokenEndpoint(env: Env, tenant: string): string {
  if (!/^[A-Za-z0-9.-]{1,64}$/.test(tenant)) throw new CliError('AZURE_TENANT_ID is not a tenant id or domain');
  const authority = (env.AZURE_AUTHORITY_HOST ?? DEFAULT_AUTHORITY).replace(/\/+$/, '');
  const url = new URL(`${authority}/${tenant}/oauth2/v2.0/token`);
  if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new CliError('AZURE_AUTHORITY_HOST must be https (http only on loopback)');
  return url.toString();
}

async function clientAssertionGrant(endpoint: string, clientId: string, assertion: string, resource: string, what: string): Promise<AcquiredToken> {
  const { status, body } = await requestJson(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, scope: `${resource}/.default`, client_assertion_type: JWT_BEARER, client_assertion: assertion }),
  }, what);
  if (status !== 200 || typeof body.access_token !== 'string') throw new CliError(`${what} refused: ${errorOf(body, status)}`);
  return { token: body.access_token, ...expiryOf(body.expires_in, 'in') };
}

function expiryOf(value: unknown, kind: 'in' | 'on'): { expiresAt?: number } {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : undefined;
  if (n === undefined) return {};
  return { expiresAt: kind === 'in' ? Math.floor(Date.now() / 1000) + n : n };
}

/** Azure workload identity federation: the federated token file is the client assertion. */
async function azureFederated(env: Env, opts: AcquireOptions): Promise<AcquiredToken> {
  const method = 'azure-federated';
  const clientId = required(env, 'AZURE_CLIENT_ID', method);
  const tenant = required(env, 'AZURE_TENANT_ID', method);
  const assertion = readSmallFile(required(env, 'AZURE_FEDERATED_TOKEN_FILE', method), 'AZURE_FEDERATED_TOKEN_FILE').trim();
  return clientAssertionGrant(tokenEndpoint(env, tenant), clientId, assertion, opts.resource, 'Entra token endpoint (federated credential)');
}

/** Client credentials with a certificate: a JWT the client signs itself, naming the certificate by x5t#S256. */
async function clientCertificate(env: Env, opts: AcquireOptions): Promise<AcquiredToken> {
  const method = 'client-certificate';
  const clientId = required(env, 'AZURE_CLIENT_ID', method);
  const tenant = required(env, 'AZURE_TENANT_ID', method);
  const pemPath = required(env, 'AZURE_CLIENT_CERTIFICATE_PATH', method);
  const pem = readSmallFile(pemPath, 'AZURE_CLIENT_CERTIFICATE_PATH');
  let key: KeyObject;
  let cert: X509Certificate;
  try {
    key = createPrivateKey(pem);
    const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
    if (!certPem) throw new Error('no certificate in the file');
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw new CliError(`AZURE_CLIENT_CERTIFICATE_PATH ${pemPath} must hold a private key and its certificate (PEM): ${(error as Error).message}`);
  }
  const endpoint = tokenEndpoint(env, tenant);
  const alg = key.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: 'JWT', 'x5t#S256': createHash('sha256').update(cert.raw).digest('base64url') };
  const payload = { iss: clientId, sub: clientId, aud: endpoint, jti: randomUUID(), iat: now, nbf: now, exp: now + 300 };
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(signingInput), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key).toString('base64url');
  return clientAssertionGrant(endpoint, clientId, `${signingInput}.${signature}`, opts.resource, 'Entra token endpoint (certificate)');
}

/** App Service / Functions (IDENTITY_ENDPOINT + IDENTITY_HEADER), else the instance metadata service. */
async function managedIdentity(env: Env, opts: AcquireOptions): Promise<AcquiredToken> {
  const clientId = env.AZURE_CLIENT_ID?.trim();
  if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) {
    const url = new URL(env.IDENTITY_ENDPOINT);
    url.searchParams.set('resource', opts.resource);
    url.searchParams.set('api-version', '2019-08-01');
    if (clientId) url.searchParams.set('client_id', clientId);
    const { status, body } = await requestJson(url.toString(), { headers: { 'x-identity-header': env.IDENTITY_HEADER } }, 'managed identity endpoint');
    if (status !== 200 || typeof body.access_token !== 'string') throw new CliError(`managed identity endpoint refused: ${errorOf(body, status)}`);
    return { token: body.access_token, ...expiryOf(body.expires_on, 'on') };
  }
  const url = new URL(`${(env.GW_IMDS_ENDPOINT ?? DEFAULT_IMDS).replace(/\/+$/, '')}/metadata/identity/oauth2/token`);
  url.searchParams.set('api-version', '2018-02-01');
  url.searchParams.set('resource', opts.resource);
  if (clientId) url.searchParams.set('client_id', clientId);
  const { status, body } = await requestJson(url.toString(), { headers: { metadata: 'true' } }, 'instance metadata service');
  if (status !== 200 || typeof body.access_token !== 'string') throw new CliError(`instance metadata service refused: ${errorOf(body, status)}`);
  return { token: body.access_token, ...expiryOf(body.expires_on, 'on') };
}

/** The job's OIDC token from GitHub's ID token service (needs `permissions: id-token: write`). */
async function githubActions(env: Env, opts: AcquireOptions): Promise<AcquiredToken> {
  const method = 'github-actions';
  const url = new URL(required(env, 'ACTIONS_ID_TOKEN_REQUEST_URL', method));
  url.searchParams.set('audience', opts.audience);
  const { status, body } = await requestJson(url.toString(), { headers: { authorization: `bearer ${required(env, 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', method)}`, accept: 'application/json' } }, 'GitHub Actions ID token service');
  if (status !== 200 || typeof body.value !== 'string') throw new CliError(`GitHub Actions ID token service refused: ${errorOf(body, status)}`);
  return { token: body.value };
}

/** A projected service account token: the kubelet keeps the file fresh, so it is read on every use. */
function kubernetes(env: Env, opts: AcquireOptions): Promise<AcquiredToken> {
  const path = opts.tokenFile ?? env.GW_KUBERNETES_TOKEN_FILE ?? DEFAULT_KUBERNETES_TOKEN_FILE;
  return Promise.resolve({ token: readSmallFile(path, 'the Kubernetes token file').trim() });
}

export function acquireToken(method: TokenMethod, env: Env, opts: AcquireOptions): Promise<AcquiredToken> {
  switch (method) {
    case 'azure-federated':
      return azureFederated(env, opts);
    case 'client-certificate':
      return clientCertificate(env, opts);
    case 'managed-identity':
      return managedIdentity(env, opts);
    case 'github-actions':
      return githubActions(env, opts);
    case 'kubernetes':
      return kubernetes(env, opts);
  }
}

/** `auto`: the first method whose environment is present, in the order of the list in the README. */
export function detectMethod(env: Env): TokenMethod {
  if (env.AZURE_FEDERATED_TOKEN_FILE) return 'azure-federated';
  if (env.AZURE_CLIENT_CERTIFICATE_PATH) return 'client-certificate';
  if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) return 'managed-identity';
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL) return 'github-actions';
  if (env.GW_KUBERNETES_TOKEN_FILE) return 'kubernetes';
  throw new CliError('no workload identity found in the environment (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_CERTIFICATE_PATH, IDENTITY_ENDPOINT, ACTIONS_ID_TOKEN_REQUEST_URL, GW_KUBERNETES_TOKEN_FILE); name one with --method');
}
