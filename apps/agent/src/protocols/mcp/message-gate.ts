import { createHash } from 'node:crypto';
import { JsonValueMasker, type Masker } from '@gw/masking';
import type { GatewayAction, PolicyContext } from '@gw/policy';

/** A JSON-RPC message as it arrives: checked field by field, never trusted. */
export type JsonRpcMessage = Record<string, unknown> & { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };

export interface ToolDefinition {
  name: string;
  description?: string;
  inputSchema?: unknown;
  title?: unknown;
  outputSchema?: unknown;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean };
}

/** What a client request asks of the server, in policy terms; undefined: not gated (forwarded as is). */
export interface GatedRequest {
  action: GatewayAction;
  /** What the refusal and the recording name: `tool "move_file"`, `resource "file:///x"`, `prompt "p"`. */
  target: string;
  tool?: string;
  context: PolicyContext;
  /**
   * False for requests that only stand beside a read or a prompt (subscribing to a resource,
   * completing an argument): a policy that holds the read refuses them instead of opening an approval.
   */
  approvable?: false;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const ARGUMENTS_TEXT_LIMIT = 16 * 1024;

export const isRequest = (m: JsonRpcMessage) => typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number');
export const isNotification = (m: JsonRpcMessage) => typeof m.method === 'string' && m.id === undefined;
export const isResponse = (m: JsonRpcMessage) => m.method === undefined && (m.result !== undefined || m.error !== undefined);
/** What a client may send without an id: notifications only (a `tools/call` without an id is not one). */
export const isClientNotificationMethod = (method: unknown): boolean => typeof method === 'string' && method.startsWith('notifications/');
/** The agent's own requests to the server (`gw-tools-1`, `gw-approved-1`) use these ids: a client's must not collide with them. */
export const RESERVED_ID_PREFIX = 'gw-';
export const isReservedId = (id: unknown): boolean => typeof id === 'string' && id.startsWith(RESERVED_ID_PREFIX);

/** The policy question of a request, or undefined for methods that are not decided one by one (list, ping, initialize). */
export function gatedRequest(m: JsonRpcMessage, tools: ReadonlyMap<string, ToolDefinition>, sourceIp: string): GatedRequest | undefined {
  const params = isRecord(m.params) ? m.params : {};
  const base: PolicyContext = { sourceIp, hasGrant: true };
  switch (m.method) {
    case 'tools/call': {
      const tool = typeof params.name === 'string' ? params.name : '';
      const args = isRecord(params.arguments) ? params.arguments : {};
      const def = tools.get(tool);
      return {
        action: 'mcp:call_tool',
        target: `tool "${tool}"`,
        tool,
        context: {
          ...base,
          tool,
          arguments: JSON.stringify(args).slice(0, ARGUMENTS_TEXT_LIMIT),
          argumentNames: Object.keys(args).slice(0, 512),
          ...toolHints(def),
        },
      };
    }
    case 'resources/read': {
      const uri = typeof params.uri === 'string' ? params.uri : '';
      return { action: 'mcp:read_resource', target: `resource "${uri}"`, context: { ...base, uri: uri.slice(0, ARGUMENTS_TEXT_LIMIT) } };
    }
    case 'prompts/get': {
      const prompt = typeof params.name === 'string' ? params.name : '';
      const args = isRecord(params.arguments) ? params.arguments : {};
      return { action: 'mcp:get_prompt', target: `prompt "${prompt}"`, context: { ...base, prompt: prompt.slice(0, 1024), arguments: JSON.stringify(args).slice(0, ARGUMENTS_TEXT_LIMIT), argumentNames: Object.keys(args).slice(0, 512) } };
    }
    // Updates of a resource one may not read tell what changes and when: decided as reading it.
    case 'resources/subscribe': {
      const uri = typeof params.uri === 'string' ? params.uri : '';
      return { action: 'mcp:read_resource', target: `subscription to resource "${uri}"`, context: { ...base, uri: uri.slice(0, ARGUMENTS_TEXT_LIMIT) }, approvable: false };
    }
    // Completions suggest values (a server backed by a database suggests its rows): decided as the
    // prompt or resource (template) they complete an argument of.
    case 'completion/complete':
      return completionRequest(params, base);
    default:
      return undefined;
  }
}

function completionRequest(params: Record<string, unknown>, base: PolicyContext): GatedRequest {
  const ref = isRecord(params.ref) ? params.ref : {};
  const argument = isRecord(params.argument) ? params.argument : {};
  const name = typeof argument.name === 'string' ? argument.name.slice(0, 1024) : '';
  const args = { [name]: typeof argument.value === 'string' ? argument.value : '' };
  if (ref.type === 'ref/prompt') {
    const prompt = typeof ref.name === 'string' ? ref.name : '';
    return {
      action: 'mcp:get_prompt', target: `completion of prompt "${prompt}"`, approvable: false,
      context: { ...base, prompt: prompt.slice(0, 1024), arguments: JSON.stringify(args).slice(0, ARGUMENTS_TEXT_LIMIT), argumentNames: [name] },
    };
  }
  // ref/resource, or a reference this gateway does not know: decided as reading its uri (empty when absent).
  const uri = typeof ref.uri === 'string' ? ref.uri : '';
  return { action: 'mcp:read_resource', target: `completion of resource "${uri}"`, context: { ...base, uri: uri.slice(0, ARGUMENTS_TEXT_LIMIT) }, approvable: false };
}

/** The tool's annotations as the policy context names them; absent hints stay absent (policies test `context has`). */
export function toolHints(def: ToolDefinition | undefined): Pick<PolicyContext, 'toolReadOnly' | 'toolDestructive'> {
  const a = def?.annotations;
  return {
    ...(typeof a?.readOnlyHint === 'boolean' ? { toolReadOnly: a.readOnlyHint } : {}),
    ...(typeof a?.destructiveHint === 'boolean' ? { toolDestructive: a.destructiveHint } : {}),
  };
}

/** The tool definitions of a tools/list result (malformed entries are dropped: a client could not call them anyway). */
export function toolsOf(result: unknown): ToolDefinition[] {
  if (!isRecord(result) || !Array.isArray(result.tools)) return [];
  return result.tools.filter((t): t is ToolDefinition => isRecord(t) && typeof t.name === 'string' && t.name.length <= 256);
}

/**
 * Fields of MCP content that are the schema's own values, not text for a person: `type` and
 * `mimeType` are masked (an entity there is still an entity) but never cut, so the content keeps its
 * shape; the `data` of an image or audio item is base64 that only text labelled an image decodes to
 * text worth masking (see Masker.maskBase64Payload).
 */
const STRUCTURAL_KEYS = new Set(['type', 'mimeType']);
const isBinaryContent = (v: Record<string, unknown>) => v.type === 'image' || v.type === 'audio';

/** One JSON value masker per Masker: its key hints are remembered across results. */
const jsonMaskers = new WeakMap<Masker, JsonValueMasker>();
export function jsonMaskerOf(masker: Masker): JsonValueMasker {
  let json = jsonMaskers.get(masker);
  if (!json) {
    json = new JsonValueMasker(masker);
    jsonMaskers.set(masker, json);
  }
  return json;
}

/**
 * A result with every leaf masked (`content[].text`, resource `text`, `structuredContent` strings
 * and numbers, prompt messages) and every key too (a map keyed by e-mail address); a key names what
 * bare digits under it are (`"ssn": "536221234"`). The JSON-RPC envelope and the result's shape hold;
 * text past `maxBytes` in total is cut with a note. Returns the result and whether it was cut.
 */
export function maskResult(result: unknown, masker: Masker | undefined, maxBytes: number): { result: unknown; truncated: boolean } {
  let budget = maxBytes;
  let truncated = false;
  const json = masker ? jsonMaskerOf(masker) : undefined;
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string' && key !== undefined && STRUCTURAL_KEYS.has(key)) return json ? json.leaf(v, key) : v;
    if (typeof v === 'string') {
      const masked = json ? (json.leaf(v, key) as string) : v;
      const size = Buffer.byteLength(masked);
      if (size <= budget) {
        budget -= size;
        return masked;
      }
      truncated = true;
      const kept = Buffer.from(masked).subarray(0, Math.max(0, budget)).toString('utf8').replace(/\uFFFD$/, '');
      budget = 0;
      return `${kept}\n[gateway: cut at ${maxBytes} bytes of result text]`;
    }
    // An array's items are named by the array's key (`"ssns": [...]`).
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (isRecord(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const value = k === 'data' && isBinaryContent(v) ? (typeof x === 'string' && masker ? masker.maskBase64Payload(x) : x) : walk(x, k);
        JsonValueMasker.assign(out, json ? json.key(k) : k, value);
      }
      return out;
    }
    return json ? json.leaf(v, key) : v;
  };
  return { result: walk(result), truncated };
}

/**
 * A tool result that refuses the call: an MCP tool error a model can act on (not a JSON-RPC error).
 * The details go in the text, not in `structuredContent`, which a client may check against the
 * tool's output schema.
 */
export function toolRefusal(message: string, details: Record<string, unknown>): Record<string, unknown> {
  return { isError: true, content: [{ type: 'text', text: `${message}\n${JSON.stringify(details)}` }] };
}

/**
 * The pin of a tool: sha256 of the canonical JSON (keys sorted) of its name, description and input
 * schema, and of its annotations (policy decides by `readOnlyHint` / `destructiveHint`: a server
 * must not relabel a destructive tool read-only after it was accepted), title and output schema
 * where it has them (a tool without them keeps the hash it had before they were pinned).
 */
export function toolHash(t: ToolDefinition): string {
  return createHash('sha256').update(canonicalJson({
    name: t.name, description: t.description ?? null, inputSchema: t.inputSchema ?? null,
    ...(t.annotations !== undefined ? { annotations: t.annotations } : {}),
    ...(t.title !== undefined ? { title: t.title } : {}),
    ...(t.outputSchema !== undefined ? { outputSchema: t.outputSchema } : {}),
  })).digest('hex');
}

/** Names a tool list holds more than once: which definition a client would use is anyone's guess, so none is shown or called. */
export function duplicateToolNames(tools: readonly ToolDefinition[]): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const t of tools) (seen.has(t.name) ? twice : seen).add(t.name);
  return twice;
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isRecord(v)) return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}
