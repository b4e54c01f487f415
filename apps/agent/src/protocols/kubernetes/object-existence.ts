import { request as httpsRequest } from 'node:https';
import type { AgentResource } from '../../config/agent-config.js';
import { ClusterCredentialError, agentAuth } from './cluster-credentials.js';
import type { Existence } from './create-on-write.js';
import type { KubernetesOptions } from './kubernetes-config.js';
import type { RequestAttributes } from './request-attributes.js';

const CHECK_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 64 * 1024;
/** Metadata only: whether the object is there is all that is asked (a Secret's data stays put). */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/** The path of the object a request names, without its subresource (`.../rolebindings/x/status` -> `.../rolebindings/x`). */
export function objectPath(attrs: RequestAttributes): string {
  const enc = encodeURIComponent;
  const base = attrs.apiGroup ? `/apis/${enc(attrs.apiGroup)}/${enc(attrs.apiVersion ?? '')}` : `/api/${enc(attrs.apiVersion ?? '')}`;
  const resource = attrs.resource ?? '';
  const name = attrs.name ?? '';
  // A namespace is itself at /api/v1/namespaces/<name>: its "namespace" attribute is its own name.
  if (attrs.namespace !== undefined && !(attrs.apiGroup === '' && resource === 'namespaces')) return `${base}/namespaces/${enc(attrs.namespace)}/${enc(resource)}/${enc(name)}`;
  return `${base}/${enc(resource)}/${enc(name)}`;
}

/**
 * Asks the API server, with the agent's own credential (never the session's, whose rights are the
 * workload's), whether the object a write names exists: 200 yes, 404 no; anything else (no answer,
 * 401, 403 because the agent may not read that resource, 5xx) is an error, which the caller refuses on.
 */
export async function objectExists(resource: AgentResource, options: KubernetesOptions, attrs: RequestAttributes): Promise<Existence> {
  let auth;
  try {
    auth = agentAuth(options);
  } catch (error) {
    if (error instanceof ClusterCredentialError) return { error: `the agent's credential: ${error.message}` };
    throw error;
  }
  const path = objectPath(attrs);
  return new Promise<Existence>((resolve) => {
    const req = httpsRequest(
      {
        host: resource.address.host,
        port: resource.address.port,
        method: 'GET',
        path,
        ca: auth.ca,
        ...(auth.servername ? { servername: auth.servername } : {}),
        ...(auth.cert ? { cert: auth.cert, key: auth.key } : {}),
        headers: { ...auth.headers, accept: METADATA_ONLY },
        timeout: CHECK_TIMEOUT_MS,
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_ANSWER_BYTES) chunks.push(c);
        });
        res.once('error', (error: Error) => resolve({ error: `the API server's answer to GET ${path} broke off (${error.message})` }));
        res.once('end', () => {
          if (status === 200) return resolve({ exists: true, status });
          if (status === 404) return resolve({ exists: false, status });
          let message = '';
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: unknown };
            if (typeof parsed.message === 'string') message = `: ${parsed.message.slice(0, 300)}`;
          } catch {
            // no Status body
          }
          resolve({ error: `the API server answered ${status} to the agent's GET ${path}${message}` });
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`)));
    req.once('error', (error: Error & { code?: string }) => resolve({ error: `the agent's GET ${path} failed (${error.code ?? error.message})` }));
    req.end();
  });
}
