import type { AgentResource } from '../../config/agent-config.js';
import { ClusterCredentialError, agentApiRequest, agentAuth, type AgentApiError } from './cluster-credentials.js';
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
  let answer: { status: number; text: string };
  try {
    answer = await agentApiRequest(resource, auth, { method: 'GET', path, headers: { accept: METADATA_ONLY }, timeoutMs: CHECK_TIMEOUT_MS, maxAnswerBytes: MAX_ANSWER_BYTES });
  } catch (error) {
    const failure = error as AgentApiError;
    if (failure.phase === 'answer') return { error: `the API server's answer to GET ${path} broke off (${failure.message})` };
    return { error: `the agent's GET ${path} failed (${failure.code ?? failure.message})` };
  }
  if (answer.status === 200) return { exists: true, status: answer.status };
  if (answer.status === 404) return { exists: false, status: answer.status };
  let message = '';
  try {
    const parsed = JSON.parse(answer.text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = `: ${parsed.message.slice(0, 300)}`;
  } catch {
    // no Status body
  }
  return { error: `the API server answered ${answer.status} to the agent's GET ${path}${message}` };
}
