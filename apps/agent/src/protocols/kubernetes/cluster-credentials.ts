import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AgentResource } from '../../config/agent-config.js';
import { IN_CLUSTER, type KubernetesOptions } from './kubernetes-config.js';

/** The API server refuses TokenRequests shorter than this (its minimum is 10 minutes). */
export const MIN_TOKEN_SECONDS = 600;
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 256 * 1024;

/** TLS settings for talking to the API server, plus the credential that goes with each request. */
export interface UpstreamAuth {
  ca: string;
  servername?: string;
  cert?: string;
  key?: string;
  /** Headers that carry the identity: Authorization and, in impersonate mode, Impersonate-*. */
  headers: Record<string, string | string[]>;
  /** For the recording: how the session talks to the API server (never a token). */
  describe: Record<string, unknown>;
}

export class ClusterCredentialError extends Error {}

/** A request the agent itself makes to the API server (with `auth`, its own credential or a minted one). */
export interface AgentApiRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** The answer's text is kept up to this size (the rest is read and dropped). */
  maxAnswerBytes: number;
}

/** An answer that broke off after its status line came (`phase: 'answer'`), or no answer at all (`'request'`). */
export type AgentApiError = Error & { code?: string; phase: 'request' | 'answer' };

/** Sends `request` to the resource's API server; resolves with any status, rejects with an AgentApiError. */
export function agentApiRequest(resource: AgentResource, auth: UpstreamAuth, request: AgentApiRequest): Promise<{ status: number; text: string }> {
  const failed = (phase: AgentApiError['phase']) => (error: Error): AgentApiError => Object.assign(error, { phase });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: resource.address.host,
        port: resource.address.port,
        method: request.method,
        path: request.path,
        ca: auth.ca,
        ...(auth.servername ? { servername: auth.servername } : {}),
        ...(auth.cert ? { cert: auth.cert, key: auth.key } : {}),
        headers: { ...auth.headers, ...request.headers, ...(request.body !== undefined ? { 'content-length': Buffer.byteLength(request.body) } : {}) },
        timeout: request.timeoutMs,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= request.maxAnswerBytes) chunks.push(c);
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.once('error', (error: Error) => reject(failed('answer')(error)));
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${request.timeoutMs / 1000} s`)));
    req.once('error', (error: Error) => reject(failed('request')(error)));
    req.end(request.body);
  });
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ClusterCredentialError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The agent's own TLS trust and credential for one cluster, read for every session (tokens rotate). */
export function agentAuth(options: KubernetesOptions): UpstreamAuth {
  const credential = options.credential;
  const ca = readText(options.caFile ?? IN_CLUSTER.caFile, 'API server CA file');
  const base = { ca, ...(options.serverName ? { servername: options.serverName } : {}) };
  if ('clientCertificateFile' in credential) {
    return {
      ...base,
      cert: readText(credential.clientCertificateFile, 'client certificate'),
      key: readText(credential.clientKeyFile, 'client key'),
      headers: {},
      describe: { credential: 'client-certificate' },
    };
  }
  const tokenFile = 'tokenFile' in credential ? credential.tokenFile : IN_CLUSTER.tokenFile;
  const token = readText(tokenFile, 'token file').trim();
  if (token === '' || /\s/.test(token)) throw new ClusterCredentialError(`the token file ${tokenFile} does not hold one token`);
  return { ...base, headers: { authorization: `Bearer ${token}` }, describe: { credential: 'inCluster' in credential ? 'in-cluster' : 'token-file' } };
}

export interface SessionIdentity {
  principalId: string;
  serviceAccounts: readonly string[];
  groups: readonly string[];
  /** Unix seconds at which the session ends. */
  sessionExpiresAt: number;
}

/**
 * The credential one session uses. token-request: a token of the mapped service account, asked for
 * now and expiring with the session (at least the API server's 10 minutes); the agent's own
 * credential only asks for it. impersonate: the agent's credential with Impersonate-User/-Group.
 */
export async function sessionAuth(resource: AgentResource, options: KubernetesOptions, who: SessionIdentity): Promise<UpstreamAuth> {
  const own = agentAuth(options);
  if (options.mode === 'impersonate') {
    return {
      ...own,
      headers: { ...own.headers, 'impersonate-user': who.principalId, ...(who.groups.length > 0 ? { 'impersonate-group': [...who.groups] } : {}) },
      describe: { ...own.describe, mode: 'impersonate', user: who.principalId, groups: who.groups },
    };
  }
  if (who.serviceAccounts.length === 0) {
    throw new ClusterCredentialError('no policy maps this principal to a Kubernetes service account (@k8s_service_account on the connect permit)');
  }
  if (who.serviceAccounts.length > 1) {
    throw new ClusterCredentialError(`policies map this principal to several service accounts (${who.serviceAccounts.join(', ')}); refusing to pick one`);
  }
  const [namespace, name] = who.serviceAccounts[0]!.split('/') as [string, string];
  const seconds = Math.max(MIN_TOKEN_SECONDS, who.sessionExpiresAt - Math.floor(Date.now() / 1000));
  const minted = await requestToken(resource, own, namespace, name, seconds);
  return {
    ca: own.ca,
    ...(own.servername ? { servername: own.servername } : {}),
    headers: { authorization: `Bearer ${minted.token}` },
    describe: { ...own.describe, mode: 'token-request', serviceAccount: `${namespace}/${name}`, tokenExpiresAt: minted.expiresAt },
  };
}

async function requestToken(resource: AgentResource, own: UpstreamAuth, namespace: string, name: string, seconds: number): Promise<{ token: string; expiresAt: string }> {
  const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds } });
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`;
  const answer = await agentApiRequest(resource, own, {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body,
    timeoutMs: TOKEN_REQUEST_TIMEOUT_MS,
    maxAnswerBytes: MAX_ANSWER_BYTES,
  }).catch((error: Error & { code?: string }) => {
    throw new ClusterCredentialError(`the API server of ${resource.name} could not be reached for a service account token (${error.code ?? error.message})`);
  });
  let parsed: { status?: { token?: unknown; expirationTimestamp?: unknown }; message?: unknown } = {};
  try {
    parsed = JSON.parse(answer.text) as typeof parsed;
  } catch {
    // reported below
  }
  if (answer.status !== 201 && answer.status !== 200) {
    const message = typeof parsed.message === 'string' ? parsed.message.slice(0, 300) : `HTTP ${answer.status}`;
    throw new ClusterCredentialError(`the API server of ${resource.name} refused a token for service account ${namespace}/${name}: ${message}`);
  }
  const token = parsed.status?.token;
  if (typeof token !== 'string' || token === '' || /\s/.test(token)) {
    throw new ClusterCredentialError(`the API server of ${resource.name} answered the TokenRequest for ${namespace}/${name} without a token`);
  }
  return { token, expiresAt: typeof parsed.status?.expirationTimestamp === 'string' ? parsed.status.expirationTimestamp : '' };
}
