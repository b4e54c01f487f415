import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { Masker } from '@gw/masking';
import type { Principal } from '@gw/identity';
import type { MaskingObligation, PolicyDecision, PolicyInput } from '@gw/policy';
import type { HoldForApproval } from '../../approvals/approval-client.js';
import type { SessionRecorder } from '../../recording/recording-shipper.js';
import { MCP_HELD_CALL_METHOD, type McpHeldCallReport } from '@gw/contracts';
import type { McpOptions } from './mcp-handler.js';
import { SERVER_REQUESTS, isGatewayNotification, isServerRequestMethod, maskedError, maskedNotification, withAllowedCapabilities, type ServerRequestMethod } from './server-messages.js';
import {
  RESERVED_ID_PREFIX, gatedRequest, isClientNotificationMethod, isNotification, isRequest, isReservedId, isResponse, maskResult, toolHints, toolRefusal, toolsOf, toolHash, duplicateToolNames,
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
  /** Requests the agent sends itself (the tool list it decides with): the raw answer goes here. */
  internal?: (message: JsonRpcMessage) => void;
  /** An approved held call the agent runs itself: the answer (masked, recorded) goes here, not to the client. */
  deliver?: (answer: JsonRpcMessage) => void;
}

/**
 * A call held for approval. Approved, the agent runs it (that call, once) and keeps the answer:
 * `wait_for_approval` gets it through the relay, and the same call sent again gets it once.
 */
interface HeldCall {
  state: 'pending' | 'running' | 'done';
  approvalId?: string;
  answer?: JsonRpcMessage;
}

/** A request of the server relayed to the client, waiting for the client's answer. */
interface ServerRequest {
  method: string;
  started: number;
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
  acceptedTools: (tools: readonly { name: string; hash: string; description?: string; inputSchema?: unknown; annotations?: unknown; title?: unknown; outputSchema?: unknown }[]) => Promise<ReadonlySet<string>>;
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
 * `tools/list`, requests the server makes of the client (sampling, elicitation, roots) are refused
 * unless policy allows them for this resource (`mcp:sampling`, `mcp:elicitation`, `mcp:roots`), and
 * the server's notifications reach the client (log text masked). Everything is recorded.
 */
export class McpSession {
  private readonly tools = new Map<string, ToolDefinition>();
  private toolsListed = false;
  /** Tools whose current definition is accepted (pinned); the others are withheld. */
  private accepted: ReadonlySet<string> = new Set();
  /** Names the server listed more than once: withheld. */
  private listedTwice: ReadonlySet<string> = new Set();
  private readonly pending = new Map<string, Pending>();
  private readonly held = new Map<string, HeldCall>();
  private calls = 0;
  private readonly recentCalls: number[] = [];
  private internalIds = 0;
  private ended = false;
  /** Messages to the client, each sent once the recording before it is durable. */
  private outbox: Promise<void> = Promise.resolve();
  /** Requests of the server that the client was asked, by id. */
  private readonly serverRequests = new Map<string, ServerRequest>();

  constructor(private readonly d: McpSessionDeps) {}

  /** A message from the client, as parsed from one line of the stream. */
  async fromClient(m: JsonRpcMessage): Promise<void> {
    if (!isRecord(m) || m.jsonrpc !== '2.0') return this.error(m?.id, RPC.invalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message');
    if (isResponse(m)) return this.answerToServer(m);
    if (isNotification(m)) {
      // A method without an id that is not a notification (`tools/call` ...) would reach the server
      // undecided, and a lax server runs it: only notifications pass as notifications.
      if (isClientNotificationMethod(m.method)) return this.send(m);
      this.d.recorder.record('mcp.request', { method: cut(m.method), refused: 'a request without an id (only notifications/* may go without one): not passed on' });
      return;
    }
    if (!isRequest(m)) return this.error(m.id, RPC.invalidRequest, 'Invalid Request: the id must be a string or a number');
    if (isReservedId(m.id)) return this.error(m.id, RPC.invalidRequest, `Invalid Request: ids starting with "${RESERVED_ID_PREFIX}" are the gateway's own; use another id`);
    if (this.pending.has(keyOf(m.id))) return this.error(m.id, RPC.invalidRequest, 'Invalid Request: this id is already in use by a request in progress');
    if (this.pending.size >= MAX_PENDING) return this.error(m.id, RPC.internal, `too many requests in progress in this session (at most ${MAX_PENDING})`);
    const method = m.method as string;
    if (method === 'initialize') return this.forward(withAllowedCapabilities(m, (r) => this.serverMayAsk(r).effect === 'allow'), { method, started: Date.now() });
    if (method === 'tools/call') await this.ensureTools();
    const gated = gatedRequest(m, this.tools, this.d.sourceIp);
    if (!gated) return this.forward(m, { method, started: Date.now() });
    await this.gate(m, method, gated);
  }

  /** A message from the server. */
  async fromServer(m: JsonRpcMessage): Promise<void> {
    if (isRequest(m)) return this.askClient(m);
    if (isNotification(m)) return this.notifyClient(m);
    if (!isResponse(m)) {
      this.d.recorder.record('mcp.server_malformed', { message: cut(m), reason: 'not a JSON-RPC request, notification or response' });
      return;
    }
    const key = keyOf(m.id);
    const p = this.pending.get(key);
    if (!p) {
      // An answer to nothing asked (or asked and already timed out): dropped, never passed on.
      this.d.recorder.record('mcp.server_malformed', { id: cut(m.id), reason: 'an answer to no request in progress' });
      return;
    }
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
    if (p.deliver) p.deliver(message);
    else this.toClient(message);
  }

  /** The server went away: every request in progress gets an error; the session ends. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
    }
    for (const [key, p] of this.pending) {
      const error = { jsonrpc: '2.0', id: JSON.parse(key) as string | number, error: { code: RPC.internal, message: `the MCP server ended (${reason}) before it answered` } };
      this.d.recorder.record('mcp.response', { id: error.id, method: p.method, ...(p.gated ? { target: p.gated.target } : {}), isError: true, error: error.error.message, durationMs: Date.now() - p.started });
      if (p.internal) p.internal(error);
      else if (p.deliver) p.deliver(error);
      else this.toClient(error);
    }
    this.pending.clear();
    this.serverRequests.clear();
    for (const [, h] of this.held) {
      if (h.state === 'pending' && h.approvalId) this.report({ approvalId: h.approvalId, state: 'failed', error: 'resource_error', message: `the session ended (${reason}) before the call was approved: it did not run` });
    }
  }

  /** A request of the server: asked of the client if policy allows it for this resource, refused otherwise. */
  private askClient(m: JsonRpcMessage): void {
    const id = m.id as string | number;
    const method = String(m.method);
    if (method === 'ping') return void this.d.upstream.send({ jsonrpc: '2.0', id, result: {} }).catch(() => undefined);
    const decision = isServerRequestMethod(method) ? this.serverMayAsk(method) : undefined;
    const allowed = decision?.effect === 'allow' && !this.serverRequests.has(keyOf(id)) && this.serverRequests.size < MAX_PENDING;
    const reasons = !decision ? ['the gateway relays no such request'] : decision.effect === 'allow' ? (allowed ? decision.reasons : ['too many requests of the server in progress']) : decision.reasons.length > 0 ? decision.reasons : ['no policy allows it'];
    this.d.recorder.record('mcp.server_request', { id, method, ...(method === 'roots/list' ? {} : { params: cut(maskResult(m.params ?? null, this.d.masker(this.d.connectMasking), RECORDED_BYTES).result) }), decision: allowed ? 'allow' : 'deny', policies: decision?.determiningPolicies ?? [], reasons });
    if (!allowed) {
      const action = isServerRequestMethod(method) ? ` (policy action ${SERVER_REQUESTS[method].action} on resource ${this.d.resourceName})` : '';
      void this.d.upstream.send({ jsonrpc: '2.0', id, error: { code: RPC.refused, message: `refused by the gateway: the server may not ask the client ${method}${action}: ${reasons.join('; ')}` } }).catch(() => undefined);
      return;
    }
    this.serverRequests.set(keyOf(id), { method, started: Date.now() });
    // What the server asks (a sampling prompt, an elicitation message) is masked like its answers.
    this.toClient(maskedNotification(m, this.d.masker(this.d.connectMasking)));
  }

  /** The client's answer to a request of the server: passed on only if the server asked it. */
  private answerToServer(m: JsonRpcMessage): void {
    const asked = this.serverRequests.get(keyOf(m.id));
    if (!asked) return;
    this.serverRequests.delete(keyOf(m.id));
    this.d.recorder.record('mcp.server_response', { id: m.id, method: asked.method, isError: m.error !== undefined, result: cut(maskResult(m.result ?? m.error ?? null, this.d.masker(this.d.connectMasking), RECORDED_BYTES).result), durationMs: Date.now() - asked.started });
    this.send(m);
  }

  private serverMayAsk(method: ServerRequestMethod): PolicyDecision {
    return this.d.decide({ principal: this.d.principal, action: SERVER_REQUESTS[method].action, resource: this.d.policyResource, context: { sourceIp: this.d.sourceIp, hasGrant: true } });
  }

  /** A notification of the server reaches the client (log text masked); a changed tool list is pinned again at once. */
  private notifyClient(m: JsonRpcMessage): void {
    if (isGatewayNotification(m)) {
      this.d.recorder.record('mcp.server_malformed', { method: m.method, reason: 'the gateway\'s own notification namespace: not relayed' });
      return;
    }
    if (m.method === 'notifications/tools/list_changed') {
      this.toolsListed = false;
      this.d.recorder.record('mcp.tools_changed', {});
      this.ensureTools().catch((error: unknown) => this.d.log.warn({ err: error }, 'checking the changed tool list failed'));
    }
    if (m.method === 'notifications/message' || m.method === 'notifications/tools/list_changed' || m.method === 'notifications/resources/updated' || m.method === 'notifications/resources/list_changed' || m.method === 'notifications/prompts/list_changed') {
      this.d.recorder.record('mcp.notification', { method: m.method, params: cut(maskedNotification(m, this.d.masker(this.d.connectMasking)).params ?? null) });
    }
    this.toClient(maskedNotification(m, this.d.masker(this.d.connectMasking)));
  }

  /**
   * Every message to the client (and report to the relay) leaves only once what was recorded before
   * it is on disk, in order: an answer the client saw is in the recording even if the agent dies
   * right after. If the journal cannot write, an answer is replaced by an error (fails closed).
   */
  private toClient(m: JsonRpcMessage): void {
    this.outbox = this.outbox.then(() => this.d.recorder.flushed()).then(
      () => this.d.toClient(m),
      (error: unknown) => {
        this.d.log.error({ err: error }, 'the recording could not be written: answer withheld');
        if (m.id !== undefined && m.method === undefined) this.d.toClient({ jsonrpc: '2.0', id: m.id, error: { code: RPC.internal, message: 'the gateway could not record this answer, so it is withheld' } });
      },
    );
  }

  /** Runs once every message queued for the client so far has left (the end of the stream comes after its answers). */
  afterSent(fn: () => void): void {
    this.outbox = this.outbox.then(fn).catch((error: unknown) => this.d.log.warn({ err: error }, 'finishing the MCP stream failed'));
  }

  /** A line for the control plane's relay (never for the client): the state of a held call. */
  private report(r: McpHeldCallReport): void {
    this.toClient({ jsonrpc: '2.0', method: MCP_HELD_CALL_METHOD, params: r });
  }

  private async gate(m: JsonRpcMessage, method: string, gated: GatedRequest): Promise<void> {
    const started = Date.now();
    if (method === 'tools/call') {
      const limit = this.overLimit();
      if (limit) return this.refuse(m, gated, limit, { error: 'limit_reached' }, started);
      if (this.listedTwice.has(gated.tool ?? '')) return this.refuse(m, gated, `${gated.target} is withheld: the server lists more than one definition under this name`, { error: 'tool_withheld' }, started);
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
    if (decision.effect === 'require_approval' && gated.approvable === false) {
      this.d.recorder.record('mcp.request', recorded);
      return this.refuse(m, gated, `${gated.target} refused: policy holds it for approval (${decision.reasons.join('; ') || 'approval required'}); ask for the resource or prompt itself to open an approval`, { error: 'approval_required', policies: decision.determiningPolicies }, started, true);
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
    if (entry?.state === 'done' && entry.answer) {
      // The approved call already ran: this call gets its answer (it does not run again).
      this.held.delete(key);
      this.d.recorder.record('mcp.request', { id: m.id, method: m.method, target: gated.target, arguments: this.maskedArguments(m), decision: 'require_approval', approvalId: entry.approvalId, note: 'approved: the answer of the run the approval made' });
      this.toClient({ ...entry.answer, id: m.id });
      return undefined;
    }
    const reasons = decision.reasons.join('; ');
    if (entry?.state === 'pending' || entry?.state === 'running') {
      const state = entry.state === 'pending' ? 'is still held for approval' : 'was approved and is running for approval';
      this.refuse(m, gated, `${gated.target} ${state} ${entry.approvalId ?? ''}: call wait_for_approval (on /mcp) with its id, or call it again with the same arguments, to get its result`, { error: 'approval_required', approvalId: entry.approvalId }, started);
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
          this.d.recorder.record('mcp.approval', { target: gated.target, approvalId: outcome.approvalId ?? null, status: outcome.status });
          if (outcome.status === 'approved' && !this.ended) return this.runApproved(m, gated, decision, fresh, outcome.approvalId, key);
          this.held.delete(key);
          const why = outcome.status === 'approved' ? 'the session ended before it could run' : outcome.status === 'unavailable' ? outcome.reason : `the approval was ${outcome.status}${outcome.comment ? ` (${outcome.comment})` : ''}`;
          if (fresh.approvalId) this.report({ approvalId: fresh.approvalId, state: 'failed', error: outcome.status === 'denied' ? 'denied' : 'approval_required', message: `${gated.target} did not run: ${why}` });
        },
        () => {
          resolve(undefined);
          this.held.delete(key);
          if (fresh.approvalId) this.report({ approvalId: fresh.approvalId, state: 'failed', error: 'resource_error', message: `${gated.target} did not run: the approval could not be followed` });
        },
      );
    });
    if (!info) {
      this.held.delete(key);
      this.refuse(m, gated, `${gated.target} needs an approval (${reasons}), and none could be requested`, { error: 'approval_required' }, started);
      return undefined;
    }
    fresh.approvalId = info.approvalId;
    this.report({ approvalId: info.approvalId, state: 'held', tool: gated.tool ?? gated.target });
    this.d.recorder.record('mcp.request', { id: m.id, method: m.method, target: gated.target, arguments: masked, decision: 'require_approval', policies: decision.determiningPolicies, reasons: decision.reasons, approvalId: info.approvalId });
    this.refuse(m, gated,
      `held for approval ${info.approvalId} until ${info.expiresAt.toISOString()} (${reasons}): it has NOT run. An approver approves it with POST ${info.approveUrl}; ` +
        `once approved the gateway runs it, once. Get its result with wait_for_approval {"id":"${info.approvalId}"} (the gateway's own tools on /mcp), ` +
        'or by calling the same tool again with the same arguments in this session',
      { error: 'approval_required', approvalId: info.approvalId, expiresAt: info.expiresAt.toISOString() }, started);
    return undefined;
  }

  /** An approved held call: that message, run once, with an id of the agent's own; the answer is kept for the client. */
  private runApproved(m: JsonRpcMessage, gated: GatedRequest, decision: PolicyDecision, entry: HeldCall, approvalId: string, key: string): void {
    entry.state = 'running';
    entry.approvalId = approvalId;
    const id = `gw-approved-${++this.internalIds}`;
    this.d.recorder.record('mcp.request', { id, method: m.method, target: gated.target, arguments: this.maskedArguments(m), decision: 'require_approval', policies: decision.determiningPolicies, approvalId, note: 'approved: runs once' });
    this.forward({ ...m, id }, {
      method: m.method as string, started: Date.now(), gated, decision, approvalId,
      deliver: (answer) => {
        entry.state = 'done';
        entry.answer = answer;
        const result = isRecord(answer.result) ? answer.result : undefined;
        if (result && result.isError !== true) this.report({ approvalId, state: 'completed', result });
        else {
          const message = result ? 'the server answered the approved call with an error' : `the approved call failed: ${isRecord(answer.error) ? String(answer.error.message) : 'no answer'}`;
          this.report({ approvalId, state: 'failed', error: 'resource_error', message, ...(result ? { result } : {}) });
        }
        // Kept for one repeat of the call in this session, not forever.
        setTimeout(() => {
          if (this.held.get(key) === entry) this.held.delete(key);
        }, 15 * 60_000).unref();
      },
    });
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
    // The time per call bounds calls (tools, resources, prompts); initialize and lists get at least a minute (a server may start slowly).
    const timeoutMs = (p.gated ? this.d.options.callTimeoutSeconds : Math.max(this.d.options.callTimeoutSeconds, 60)) * 1000;
    p.timer = setTimeout(() => {
      if (!this.pending.delete(keyOf(m.id))) return;
      this.d.recorder.record('mcp.response', { id: m.id, method: p.method, error: 'timeout', durationMs: Date.now() - p.started });
      const message = `the MCP server did not answer within ${this.d.options.callTimeoutSeconds} s`;
      // The server is told to stop working on it (it may still finish; its late answer is dropped).
      void this.d.upstream.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: m.id as string | number, reason: message } }).catch(() => undefined);
      const answer: JsonRpcMessage = p.method === 'tools/call' ? { jsonrpc: '2.0', id: m.id, result: toolRefusal(message, { error: 'limit_reached' }) } : { jsonrpc: '2.0', id: m.id, error: { code: RPC.timeout, message } };
      if (p.internal) p.internal(answer);
      else if (p.deliver) p.deliver(answer);
      else this.toClient(answer);
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
      const answer = { jsonrpc: '2.0', id: m.id, error: { code: RPC.internal, message: `the MCP server could not be reached: ${(error as Error).message}` } };
      if (p.internal) p.internal(answer);
      else if (p.deliver) p.deliver(answer);
      else this.toClient(answer);
    });
  }

  /** The answer as the client may see it: hidden tools left out, every text leaf masked, the size capped. */
  private async shape(m: JsonRpcMessage, p: Pending): Promise<JsonRpcMessage & { truncated?: boolean }> {
    // An error's message and data are the server's text too: masked like a result (a customer named in "not found").
    if (m.error !== undefined || !isRecord(m.result)) return { jsonrpc: '2.0', id: m.id, error: m.error !== undefined ? maskedError(m.error, this.d.masker(mergeMasking(this.d.connectMasking, p.decision?.obligations.masking))) : { code: RPC.internal, message: 'malformed answer from the MCP server' } };
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
    const listed = toolsOf(result);
    // A name listed twice (an accepted definition next to a new one) is withheld altogether.
    const twice = duplicateToolNames(listed);
    if (twice.size > 0) this.d.recorder.record('mcp.tools_withheld', { tools: [...twice], reason: 'listed more than once by the server' });
    this.listedTwice = twice;
    const tools = listed.filter((t) => !twice.has(t.name));
    this.tools.clear();
    for (const t of tools) this.tools.set(t.name, t);
    this.accepted = await this.d.acceptedTools(tools.map((t) => ({
      name: t.name, hash: toolHash(t),
      ...(typeof t.description === 'string' ? { description: t.description.slice(0, 16 * 1024) } : {}),
      ...(t.inputSchema !== undefined ? { inputSchema: t.inputSchema } : {}),
      ...(t.annotations !== undefined ? { annotations: t.annotations } : {}),
      ...(t.title !== undefined ? { title: t.title } : {}),
      ...(t.outputSchema !== undefined ? { outputSchema: t.outputSchema } : {}),
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
    if (m.method === 'tools/call') this.toClient({ jsonrpc: '2.0', id: m.id, result: toolRefusal(message, details) });
    else this.error(m.id, RPC.refused, message);
  }

  private error(id: unknown, code: number, message: string): void {
    this.toClient({ jsonrpc: '2.0', id: (typeof id === 'string' || typeof id === 'number' ? id : null), error: { code, message } });
  }

  private maskedArguments(m: JsonRpcMessage): unknown {
    const params = isRecord(m.params) ? m.params : {};
    const asked = params.arguments ?? params.uri ?? (params.ref !== undefined ? { ref: params.ref, argument: params.argument } : null);
    return cut(maskResult(asked, this.d.masker(this.d.connectMasking), RECORDED_BYTES).result);
  }
}

function mergeMasking(a: MaskingObligation, b: MaskingObligation | undefined): MaskingObligation {
  if (!b) return a;
  return { entities: [...a.entities, ...b.entities], columns: [...a.columns, ...b.columns] };
}
