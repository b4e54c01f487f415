import { JsonValueMasker, type Masker } from '@gw/masking';
import type { GatewayAction } from '@gw/policy';
import { MCP_GATEWAY_METHOD_PREFIX } from '@gw/contracts';
import { jsonMaskerOf, type JsonRpcMessage } from './message-gate.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Requests a server may make of the client, the policy action that allows each, and the client
 * capability the server needs to see for it. Anything else a server asks is refused.
 */
export const SERVER_REQUESTS = {
  'sampling/createMessage': { action: 'mcp:sampling', capability: 'sampling' },
  'elicitation/create': { action: 'mcp:elicitation', capability: 'elicitation' },
  'roots/list': { action: 'mcp:roots', capability: 'roots' },
} as const satisfies Record<string, { action: GatewayAction; capability: string }>;
export type ServerRequestMethod = keyof typeof SERVER_REQUESTS;

export const isServerRequestMethod = (method: unknown): method is ServerRequestMethod => typeof method === 'string' && Object.hasOwn(SERVER_REQUESTS, method);

/**
 * The initialize request with only the client capabilities that let the server ask what policy
 * allows: a server that does not see `sampling` does not try it (and is refused if it does).
 */
export function withAllowedCapabilities(m: JsonRpcMessage, allowed: (method: ServerRequestMethod) => boolean): JsonRpcMessage {
  if (!isRecord(m.params) || !isRecord(m.params.capabilities)) return m;
  const capabilities = { ...m.params.capabilities };
  for (const [method, { capability }] of Object.entries(SERVER_REQUESTS)) {
    if (!allowed(method as ServerRequestMethod)) delete capabilities[capability];
  }
  return { ...m, params: { ...m.params, capabilities } };
}

/** A server notification in the gateway's own namespace would pass for the agent's: never relayed. */
export const isGatewayNotification = (m: JsonRpcMessage) => typeof m.method === 'string' && m.method.startsWith(MCP_GATEWAY_METHOD_PREFIX);

/** Fields that identify what a message is about (a request id, a progress token): matched by the client, never masked. */
const IDENTIFYING_KEYS = new Set(['progressToken', 'requestId']);

/**
 * A server notification (or a request of the server that policy lets through) as the client may
 * see it: every text leaf and key of its params masked with the session's rules, whatever the
 * method (a log message's `data`, a progress `message`, a resource `uri`, a notification of the
 * server's own kind); progress tokens and request ids untouched so the client can still match
 * them to its requests.
 */
export function maskedNotification(m: JsonRpcMessage, masker: Masker | undefined): JsonRpcMessage {
  if (!masker || !isRecord(m.params)) return m;
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.params)) {
    if (IDENTIFYING_KEYS.has(k) || k === '_meta') params[k] = v;
    else JsonValueMasker.assign(params, jsonMaskerOf(masker).key(k), maskLeaves(v, masker, k));
  }
  return { ...m, params };
}

/** A JSON-RPC error of the server as the client may see it: its message and data masked, its code kept. */
export function maskedError(error: unknown, masker: Masker | undefined): unknown {
  if (!masker || !isRecord(error)) return error;
  return {
    ...error,
    ...(typeof error.message === 'string' ? { message: masker.maskEntities(error.message) } : {}),
    ...(error.data !== undefined ? { data: maskLeaves(error.data, masker, 'data') } : {}),
  };
}

/** Every leaf and key of a log message's data, a key naming what bare digits under it are (see JsonValueMasker). */
function maskLeaves(v: unknown, masker: Masker, key?: string): unknown {
  const json = jsonMaskerOf(masker);
  if (Array.isArray(v)) return v.map((x) => maskLeaves(x, masker, key));
  if (isRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) JsonValueMasker.assign(out, json.key(k), maskLeaves(x, masker, k));
    return out;
  }
  return json.leaf(v, key);
}
