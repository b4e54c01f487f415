import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { Masker } from '@gw/masking';
import type { Principal } from '@gw/identity';
import type { MaskingObligation, PolicyDecision, PolicyInput } from '@gw/policy';
import type { HoldForApproval } from '../../approvals/approval-client.js';
import type { SessionRecorder } from '../../recording/recording-shipper.js';
import type { McpOptions } from './mcp-handler.js';
import {
  gatedRequest, isNotification, isRequest, isResponse, maskResult, toolHints, toolRefusal, toolsOf, toolHash,
  type GatedRequest, type JsonRpcMessage, type ToolDefinition,
} from './message-gate.js';

/** JSON-RPC error codes the gateway answers with (the first three are the specification's). */
const RPC = { invalidRequest: -32600, methodNotFound: -32601, internal: -32603, refused: -32003, timeout: -32001 } as const;
/** Requests of one session waiting for the server at a time. */
const MAX_PENDING = 64;
/** How much of a message the recording keeps. */
const RECORDED_BYTES = 32 * 1024;

interface Pending {
  method: string;
  started: number;
  gated?: GatedRequest;
  decision?: PolicyDecision;
  approvalId?: string;
  timer?: NodeJS.Timeout;
  /** Requests the agent sends itself (the tool list it decides with). */
  internal?: (message: JsonRpcMessage) => void;
}

interface HeldCall {
  state: 'pending' | 'approved';
  approvalId?: string;
}

export interface McpSessionDeps {
  principal: Principal;
  resourceName: string;
  policyResource: PolicyInput['resource'];
  options: McpOptions;
  upstream: Transport;
  /** Writes one JSON-RPC message to the client (through the tunnel). */
  toClient: (message: JsonRpcMessage) => void;
  decide: (input: PolicyInput) => PolicyDecision;
  masker: (masking: MaskingObligation) => Masker | undefined;
  /** The `connect` permits' masking: applied to every answer, besides the call's own. */
  connectMasking: MaskingObligation;
  recorder: SessionRecorder;
  hold: HoldForApproval | undefined;
  /** Names of the tools whose definition (by hash) an admin accepted; fails closed (none) when it cannot be asked. */
  acceptedTools: (tools: readonly { name: string; hash: string; description?: string; inputSchema?: unknown }[]) => Promise<ReadonlySet<string>>;
  sourceIp: string;
  log: Logger;
}

const keyOf = (id: unknown) => JSON.stringify(id);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const cut = (v: unknown) => {
  const text = JSON.stringify(v) ?? 'null';
  return text.length <= RECORDED_BYTES ? v : `${text.slice(0, RECORDED_BYTES)}…[cut]`;
};

/**
 * One client's MCP session with one server, in the agent. Every message from the client is checked
 * (`tools/call`, `resources/read`, `prompts/get` decided by policy; held ones wait for an approval),
 * every answer is masked before it leaves, tools that policy never allows are left out of
 * `tools/list`, and requests the server makes of the client (sampling, elicitation, roots) are
 * refused: the client never sees them. Everything is recorded.
 */
export class McpSession {
  private readonly tools = new Map<string, ToolDefinition>();
  private toolsListed = false;
  /** Tools whose current definition is accepted (pinned); the others are withheld. */
  private accepted: ReadonlySet<string> = new Set();
  private readonly pending = new Map<string, Pending>();
  private readonly held = new Map<string, HeldCall>();
  private calls = 0;
  private readonly recentCalls: number[] = [];
  private internalIds = 0;
  private ended = false;

  constructor(private readonly d: McpSessionDeps) {}

  /** A message from the client, as parsed from one line of the stream. */
  async fromClient(m: JsonRpcMessage): Promise<void> {
    if (!isRecord(m) || m.jsonrpc !== '2.0') return this.error(m?.id, RPC.invalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message');
    // Answers to requests of the server: the gateway never forwards those requests, so there is nothing to answer.
    if (isResponse(m)) return;
    if (isNotification(m)) return this.send(m);
    if (!isRequest(m)) return this.error(m.id, RPC.invalidRequest, 'Invalid Request');
    if (this.pending.has(keyOf(m.id))) return this.error(m.id, RPC.invalidRequest, 'Invalid Request: this id is already in use by a request in progress');
    if (this.pending.size >= MAX_PENDING) return this.error(m.id, RPC.internal, `too many requests in progress in this session (at most ${MAX_PENDING})`);
    const method = m.method as string;
    if (method === 'initialize') return this.forward(withoutServerRequests(m), { method, started: Date.now() });
    if (method === 'tools/call') await this.ensureTools();
    const gated = gatedRequest(m, this.tools, this.d.sourceIp);
    if (!gated) return this.forward(m, { method, started: Date.now() });
    await this.gate(m, method, gated);
  }

  /** A message from the server. */
  async fromServer(m: JsonRpcMessage): Promise<void> {
    if (isRequest(m)) {
      // sampling/createMessage, elicitation/create, roots/list: refused (the client is not asked).
      this.d.recorder.record('mcp.server_request', { method: m.method, decision: 'deny', reasons: ['requests from the server to the client are refused by the gateway'] });
      void this.d.upstream.send({ jsonrpc: '2.0', id: m.id as string | number, error: { code: RPC.refused, message: `refused by the gateway: the server may not ask the client (${String(m.method)})` } });
      return;
    }
    if (!isResponse(m)) {
      // Not relayed (the client has no stream for them); a changed tool list is fetched and checked again before the next call.
      if (m.method === 'notifications/tools/list_changed') this.toolsListed = false;
      return;
    }
    const key = keyOf(m.id);
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    if (p.internal) return p.internal(m);
    const answer = await this.shape(m, p);
    this.d.recorder.record('mcp.response', {
      id: m.id, method: p.method, ...(p.gated ? { target: p.gated.target } : {}),
      isError: m.error !== undefined || (isRecord(answer.result) && answer.result.isError === true),
      ...(answer.truncated ? { truncated: true } : {}),
      result: cut(answer.result ?? answer.error), durationMs: Date.now() - p.started, bytes: Buffer.byteLength(JSON.stringify(answer)),
    });
    const { truncated: _cut, ...message } = answer;
    this.d.toClient(message);
  }

  /** The server went away: every request in progress gets an error; the session ends. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
    }
    for (const [key, p] of this.pending) {
      if (!p.internal) this.d.toClient({ jsonrpc: '2.0', id: JSON.parse(key) as string | number, error: { code: RPC.internal, message: `the MCP server ended: ${reason}` } });
      else p.internal({ jsonrpc: '2.0', id: JSON.parse(key) as string | number, error: { code: RPC.internal, message: reason } });
    }
    this.pending.clear();
  }

  private async gate(m: JsonRpcMessage, method: string, gated: GatedRequest): Promise<void> {
    const started = Date.now();
    if (method === 'tools/call') {
      const limit = this.overLimit();
      if (limit) return this.refuse(m, gated, limit, { error: 'limit_reached' }, started);
      if (!this.tools.has(gated.tool ?? '')) return this.refuse(m, gated, `${gated.target} is not offered by this server`, { error: 'unknown_tool' }, started);
      if (!this.accepted.has(gated.tool ?? '')) {
        return this.refuse(m, gated, `${gated.target} is withheld: its definition is new or changed since an admin last accepted it (POST /api/v1/mcp/tool-pins/accept)`, { error: 'tool_withheld' }, started);
      }
    }
    const decision = this.d.decide({ principal: this.d.principal, action: gated.action, resource: this.d.policyResource, context: gated.context });
    const recorded = { id: m.id, method, target: gated.target, arguments: this.maskedArguments(m), decision: decision.effect, policies: decision.determiningPolicies, reasons: decision.reasons };
    if (decision.effect === 'deny') {
      const named = decision.determiningPolicies.length > 0 ? ` by policy ${decision.determiningPolicies.map((p) => `"${p}"`).join(', ')}` : '';
      this.d.recorder.record('mcp.request', recorded);
      return this.refuse(m, gated, `${gated.target} denied${named}: ${decision.reasons.join('; ') || 'no policy allows it'}`, { error: 'denied', policies: decision.determiningPolicies }, started, true);
    }
    if (decision.effect === 'require_approval') {
      const approvalId = await this.heldCall(m, gated, decision);
      if (approvalId === undefined) return; // answered: held, or still waiting
      this.d.recorder.record('mcp.request', { ...recorded, approvalId, note: 'approved: runs once' });
      return this.forward(m, { method, started, gated, decision, approvalId });
    }
    this.d.recorder.record('mcp.request', recorded);
    this.forward(m, { method, started, gated, decision });
  }

  /**
   * A call policy holds: the client is answered at once with the approval; once approved, the same
   * call (same name and arguments) sent again in this session runs, once. Returns the approval id
   * when this call may run now.
   */
  private async heldCall(m: JsonRpcMessage, gated: GatedRequest, decision: PolicyDecision): Promise<string | undefined> {
    const params = isRecord(m.params) ? m.params : {};
    const key = createHash('sha256').update(m.method as string).update('\0').update(JSON.stringify(params.name ?? null)).update('\0').update(JSON.stringify(params.arguments ?? params.uri ?? null)).digest('hex');
    const entry = this.held.get(key);
    const started = Date.now();
    if (entry?.state === 'approved') {
      this.held.delete(key);
      return entry.approvalId;
    }
    const reasons = decision.reasons.join('; ');
    if (entry?.state === 'pending') {
      this.refuse(m, gated, `${gated.target} is still held for approval ${entry.approvalId ?? ''}: call it again with the same arguments once it is approved`, { error: 'approval_required', approvalId: entry.approvalId }, started);
      return undefined;
    }
    if (!this.d.hold) {
      this.refuse(m, gated, `${gated.target} needs an approval (${reasons}), which this agent cannot ask for now`, { error: 'approval_required' }, started);
      return undefined;
    }
    const fresh: HeldCall = { state: 'pending' };
    this.held.set(key, fresh);
    const masked = this.maskedArguments(m);
    const info = await new Promise<{ approvalId: string; expiresAt: Date; approveUrl: string } | undefined>((resolve) => {
      this.d.hold!({ server: this.d.resourceName, request: gated.target, arguments: masked }, decision.obligations.approval, {
        detail: { request: gated.target, arguments: params.arguments ?? params.uri ?? null },
        onRequested: (i) => resolve(i),
      }).then(
        (outcome) => {
          resolve(undefined);
          if (outcome.status === 'approved') {
            fresh.state = 'approved';
            fresh.approvalId = outcome.approvalId;
          } else this.held.delete(key);
          this.d.recorder.record('mcp.approval', { target: gated.target, approvalId: outcome.approvalId ?? null, status: outcome.status });
        },
        () => {
          resolve(undefined);
          this.held.delete(key);
        },
      );
    });
    if (!info) {
      this.held.delete(key);
      this.refuse(m, gated, `${gated.target} needs an approval (${reasons}), and none could be requested`, { error: 'approval_required' }, started);
      return undefined;
    }
    fresh.approvalId = info.approvalId;
    this.d.recorder.record('mcp.request', { id: m.id, method: m.method, target: gated.target, arguments: masked, decision: 'require_approval', policies: decision.determiningPolicies, reasons: decision.reasons, approvalId: info.approvalId });
    this.refuse(m, gated,
      `held for approval ${info.approvalId} until ${info.expiresAt.toISOString()} (${reasons}): it has NOT run. An approver approves it with POST ${info.approveUrl}; ` +
        'once approved, call the same tool again with the same arguments in this session: it then runs, once',
      { error: 'approval_required', approvalId: info.approvalId, expiresAt: info.expiresAt.toISOString() }, started);
    return undefined;
  }

  /** Calls per session and per minute. */
  private overLimit(): string | undefined {
    const now = Date.now();
    while (this.recentCalls.length > 0 && this.recentCalls[0]! < now - 60_000) this.recentCalls.shift();
    if (this.calls >= this.d.options.maxCallsPerSession) return `this session reached its limit of ${this.d.options.maxCallsPerSession} tool calls: start a new session`;
    if (this.recentCalls.length >= this.d.options.maxCallsPerMinute) return `limit of ${this.d.options.maxCallsPerMinute} tool calls per minute reached: wait a little`;
    this.calls += 1;
    this.recentCalls.push(now);
    return undefined;
  }

  private forward(m: JsonRpcMessage, p: Pending): void {
    const timeoutMs = this.d.options.callTimeoutSeconds * 1000;
    p.timer = setTimeout(() => {
      if (!this.pending.delete(keyOf(m.id))) return;
      this.d.recorder.record('mcp.response', { id: m.id, method: p.method, error: 'timeout', durationMs: Date.now() - p.started });
      const message = `the MCP server did not answer within ${this.d.options.callTimeoutSeconds} s`;
      if (p.method === 'tools/call') this.d.toClient({ jsonrpc: '2.0', id: m.id, result: toolRefusal(message, { error: 'limit_reached' }) });
      else this.error(m.id, RPC.timeout, message);
    }, timeoutMs);
    p.timer.unref();
    this.pending.set(keyOf(m.id), p);
    this.send(m);
  }

  private send(m: JsonRpcMessage): void {
    this.d.upstream.send(m as JSONRPCMessage).catch((error: unknown) => {
      this.d.log.warn({ err: error }, 'sending to the MCP server failed');
      const p = this.pending.get(keyOf(m.id));
      if (!p) return;
      this.pending.delete(keyOf(m.id));
      clearTimeout(p.timer);
      if (p.internal) p.internal({ jsonrpc: '2.0', id: m.id, error: { code: RPC.internal, message: 'unreachable' } });
      else this.error(m.id, RPC.internal, `the MCP server could not be reached: ${(error as Error).message}`);
    });
  }

  /** The answer as the client may see it: hidden tools left out, every text leaf masked, the size capped. */
  private async shape(m: JsonRpcMessage, p: Pending): Promise<JsonRpcMessage & { truncated?: boolean }> {
    if (m.error !== undefined || !isRecord(m.result)) return { jsonrpc: '2.0', id: m.id, error: m.error ?? { code: RPC.internal, message: 'malformed answer from the MCP server' } };
    let result: Record<string, unknown> = m.result;
    if (p.method === 'tools/list') result = await this.visibleTools(result);
    if (p.method === 'initialize') return { jsonrpc: '2.0', id: m.id, result };
    const masking = mergeMasking(this.d.connectMasking, p.decision?.obligations.masking);
    const masked = maskResult(result, this.d.masker(masking), this.d.options.maxResultBytes);
    return { jsonrpc: '2.0', id: m.id, result: masked.result, ...(masked.truncated ? { truncated: true } : {}) };
  }

  private async visibleTools(result: Record<string, unknown>): Promise<Record<string, unknown>> {
    const tools = await this.learnTools(result);
    const allowed = (t: ToolDefinition) => this.d.decide({
      principal: this.d.principal, action: 'mcp:call_tool', resource: this.d.policyResource,
      context: { sourceIp: this.d.sourceIp, hasGrant: true, tool: t.name, ...toolHints(t) },
    }).effect !== 'deny';
    const withheld = tools.filter((t) => !this.accepted.has(t.name)).map((t) => t.name);
    const hidden = tools.filter((t) => this.accepted.has(t.name) && !allowed(t)).map((t) => t.name);
    if (withheld.length > 0) this.d.recorder.record('mcp.tools_withheld', { tools: withheld, reason: 'definition new or changed since an admin accepted it' });
    if (hidden.length > 0) this.d.recorder.record('mcp.tools_hidden', { tools: hidden, reason: 'no policy allows them' });
    return { ...result, tools: tools.filter((t) => this.accepted.has(t.name) && allowed(t)) };
  }

  /** Remembers the server's tools and asks which of their definitions are accepted. */
  private async learnTools(result: unknown): Promise<ToolDefinition[]> {
    const tools = toolsOf(result);
    this.tools.clear();
    for (const t of tools) this.tools.set(t.name, t);
    this.accepted = await this.d.acceptedTools(tools.map((t) => ({
      name: t.name, hash: toolHash(t),
      ...(typeof t.description === 'string' ? { description: t.description.slice(0, 16 * 1024) } : {}),
      ...(t.inputSchema !== undefined ? { inputSchema: t.inputSchema } : {}),
    })));
    this.toolsListed = true;
    return tools;
  }

  /** The tool list the agent decides with, asked for once before the first call if the client never listed the tools. */
  private async ensureTools(): Promise<void> {
    if (this.toolsListed) return;
    const id = `gw-tools-${++this.internalIds}`;
    const answer = await new Promise<JsonRpcMessage>((resolve) => {
      this.forward({ jsonrpc: '2.0', id, method: 'tools/list', params: {} }, { method: 'tools/list', started: Date.now(), internal: resolve });
    });
    if (isRecord(answer.result)) await this.learnTools(answer.result);
  }

  private refuse(m: JsonRpcMessage, gated: GatedRequest, message: string, details: Record<string, unknown>, started: number, recorded = false): void {
    if (!recorded) this.d.recorder.record('mcp.request', { id: m.id, method: m.method, target: gated.target, arguments: this.maskedArguments(m), refused: message });
    this.d.recorder.record('mcp.response', { id: m.id, method: m.method, target: gated.target, isError: true, result: message, durationMs: Date.now() - started });
    if (m.method === 'tools/call') this.d.toClient({ jsonrpc: '2.0', id: m.id, result: toolRefusal(message, details) });
    else this.error(m.id, RPC.refused, message);
  }

  private error(id: unknown, code: number, message: string): void {
    this.d.toClient({ jsonrpc: '2.0', id: (typeof id === 'string' || typeof id === 'number' ? id : null), error: { code, message } });
  }

  private maskedArguments(m: JsonRpcMessage): unknown {
    const params = isRecord(m.params) ? m.params : {};
    return cut(maskResult(params.arguments ?? params.uri ?? null, this.d.masker(this.d.connectMasking), RECORDED_BYTES).result);
  }
}

/** The client's capabilities without those that let the server make requests of it (refused anyway). */
function withoutServerRequests(m: JsonRpcMessage): JsonRpcMessage {
  if (!isRecord(m.params) || !isRecord(m.params.capabilities)) return m;
  const { sampling: _s, elicitation: _e, roots: _r, ...capabilities } = m.params.capabilities;
  return { ...m, params: { ...m.params, capabilities } };
}

function mergeMasking(a: MaskingObligation, b: MaskingObligation | undefined): MaskingObligation {
  if (!b) return a;
  return { entities: [...a.entities, ...b.entities], columns: [...a.columns, ...b.columns] };
}
