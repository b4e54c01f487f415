import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { CONNECT_CLOSE, type McpHeldCallReport } from '@gw/contracts';
import type { Principal } from '@gw/identity';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { SessionBroker, SessionRefused, type OpenedSession } from '../connect/session-broker.service.js';
import { ApprovalsService } from '../approvals/approvals.service.js';
import { JSONRPC, header, jsonRpcError, readBody, sourceOf } from './mcp-http-io.js';
import { McpRequestAuth } from './mcp-request-auth.js';
import { HeldCallsStore } from './held-calls.store.js';
import { McpReplicaForwarder } from './mcp-replica-forwarder.js';
import { RelaySession, invalidClientMessage, isRequest, progressTokensOf, type Message, type PostStream } from './mcp-relay-session.js';

/** Longest a client request waits for its answer here (the agent's own per-call limit is usually lower). */
const ANSWER_TIMEOUT_MS = 15 * 60 * 1000;
/** Longest line the agent may send (one JSON-RPC message). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Sessions that ended recently, with why: a client that comes back is told, not just "not found". */
const ENDED_REMEMBERED = 1000;
const keyOf = (id: unknown) => JSON.stringify(id);

/**
 * `/mcp/<resource>`: an MCP server behind an agent, over Streamable HTTP, with the authorization of
 * `/mcp` (Origin, bearer token for the gateway's audience; the token is never passed on). `initialize`
 * opens a session through the session broker (`connect` policy, session record, tunnel stream to the
 * agent); its id is the `Mcp-Session-Id`. Each JSON-RPC message then goes to the agent as one line of
 * the stream, where policy, approvals, masking and recording happen; answers come back the same way
 * and are returned as JSON, or as an SSE stream when the server sends requests or notifications
 * while a request waits (the GET stream carries the others). Held calls the agent reports are
 * stored for `wait_for_approval`. The stream lives on the replica that opened it; a request of the
 * session that reaches another replica is passed to that one (McpReplicaForwarder).
 */
@Injectable()
export class McpUpstreamHandler implements BeforeApplicationShutdown {
  private readonly log = loggerFor(McpUpstreamHandler);
  private readonly sessions = new Map<string, RelaySession>();
  private readonly endedWhy = new Map<string, string>();
  /** Per session: the held-call reports in the order the agent sent them (a result is never stored before its hold). */
  private readonly heldChain = new Map<string, Promise<void>>();
  private readonly heldOpen = new Map<string, Set<string>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(McpRequestAuth) private readonly auth: McpRequestAuth,
    @Inject(SessionBroker) private readonly broker: SessionBroker,
    @Inject(ApprovalsService) private readonly approvals: ApprovalsService,
    @Inject(HeldCallsStore) private readonly heldCalls: HeldCallsStore,
    @Inject(McpReplicaForwarder) private readonly replicas: McpReplicaForwarder,
  ) {}

  beforeApplicationShutdown(): void {
    for (const s of this.sessions.values()) void this.end(s, 'client');
  }

  async handle(req: IncomingMessage, res: ServerResponse, resource: string): Promise<void> {
    try {
      await this.handleChecked(req, res, resource);
    } catch (error) {
      const errorId = randomUUID();
      this.log.error({ err: error, errorId }, 'MCP relay request failed');
      if (!res.headersSent) jsonRpcError(res, 500, -32603, `internal error (error id ${errorId})`);
      else res.end();
    }
  }

  private async handleChecked(req: IncomingMessage, res: ServerResponse, resource: string): Promise<void> {
    if (!this.auth.originAllowed(req, res)) return;
    if (req.method !== 'POST' && req.method !== 'DELETE' && req.method !== 'GET') {
      res.setHeader('Allow', 'GET, POST, DELETE');
      return jsonRpcError(res, 405, JSONRPC.serverError, 'Method not allowed: POST messages, GET a stream of the server\'s messages, DELETE to end a session');
    }
    const principal = await this.auth.authenticate(req, res, resource);
    if (!principal) return;

    if (req.method === 'GET') {
      if (!(header(req, 'accept') ?? '').includes('text/event-stream')) return jsonRpcError(res, 406, JSONRPC.serverError, 'Not Acceptable: the GET stream is text/event-stream');
      const s = this.sessionOf(req, principal.id, resource);
      if (!s) return this.elsewhereOrNotFound(req, res, resource);
      if (s.getStream && !s.getStream.writableEnded) return jsonRpcError(res, 409, JSONRPC.serverError, 'Conflict: this session already has a GET stream open');
      s.openGet(res);
      return;
    }

    if (req.method === 'DELETE') {
      const s = this.sessionOf(req, principal.id, resource);
      if (!s) return this.elsewhereOrNotFound(req, res, resource);
      await this.end(s, 'client');
      res.writeHead(204).end();
      return;
    }
    const body = await readBody(req, this.config.mcp.maxRequestBytes);
    if (body === 'too-large') {
      res.setHeader('Connection', 'close');
      return jsonRpcError(res, 413, JSONRPC.serverError, `Payload Too Large: requests to /mcp/${resource} are limited to ${this.config.mcp.maxRequestBytes} bytes`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return jsonRpcError(res, 400, JSONRPC.parseError, 'Parse error: Invalid JSON');
    }
    const batch = Array.isArray(parsed);
    const messages = (batch ? parsed : [parsed]) as Message[];
    if (messages.length === 0 || messages.some((m) => typeof m !== 'object' || m === null || Array.isArray(m) || m.jsonrpc !== '2.0')) {
      return jsonRpcError(res, 400, JSONRPC.invalidRequest, 'Invalid Request: expected JSON-RPC 2.0 messages');
    }

    const invalid = invalidClientMessage(messages);
    if (invalid) return jsonRpcError(res, 400, JSONRPC.invalidRequest, `Invalid Request: ${invalid}`);

    let session: RelaySession;
    const initialize = messages.find((m) => isInitializeRequest(m));
    if (initialize) {
      if (messages.length > 1) return jsonRpcError(res, 400, JSONRPC.invalidRequest, 'Invalid Request: Only one initialization request is allowed');
      const opened = await this.open(req, res, principal, resource, initialize);
      if (!opened) return;
      session = opened;
      res.setHeader('Mcp-Session-Id', session.id);
    } else {
      const found = this.sessionOf(req, principal.id, resource);
      if (!found) return this.elsewhereOrNotFound(req, res, resource, body);
      session = found;
    }

    const requests = messages.filter(isRequest);
    const busy = requests.find((m) => session.waiting.has(keyOf(m.id)));
    if (busy) return jsonRpcError(res, 400, JSONRPC.invalidRequest, `Invalid Request: id ${keyOf(busy.id).slice(0, 100)} is already in use by a request of this session in progress; use another id`);
    const answers = requests.map((m) => this.answerTo(session, m));
    if (requests.length === 0) {
      for (const m of messages) session.toAgent(m);
      res.writeHead(202).end();
      return;
    }
    const post: PostStream = { res, acceptsSse: (header(req, 'accept') ?? '').includes('text/event-stream'), progressTokens: progressTokensOf(requests), sse: false };
    session.posts.push(post);
    for (const m of messages) session.toAgent(m);
    session.answer(post, await Promise.all(answers), batch);
  }

  /** A session this replica does not hold: passed to the replica that does, if one does. */
  private async elsewhereOrNotFound(req: IncomingMessage, res: ServerResponse, resource: string, body?: Buffer): Promise<void> {
    const id = header(req, 'mcp-session-id');
    const holder = id && !this.endedWhy.has(id) ? await this.replicas.holderOf(req, id) : undefined;
    if (holder) return this.replicas.forward(req, res, holder, resource, body);
    this.notFound(req, res);
  }

  private notFound(req: IncomingMessage, res: ServerResponse): void {
    const id = header(req, 'mcp-session-id');
    if (!id) return jsonRpcError(res, 400, JSONRPC.serverError, 'Bad Request: Mcp-Session-Id header is required');
    const why = this.endedWhy.get(id);
    jsonRpcError(res, 404, JSONRPC.sessionNotFound, why
      ? `Session not found: it ended (${why}); initialize a new session`
      : 'Session not found');
  }

  private sessionOf(req: IncomingMessage, principalId: string, resource: string): RelaySession | undefined {
    const id = header(req, 'mcp-session-id');
    const s = id ? this.sessions.get(id) : undefined;
    // Another principal's session, or another resource's, does not exist for this caller.
    return s && !s.ended && s.principal.id === principalId && s.opened.sessionId === id && s.resource === resource ? s : undefined;
  }

  private async open(req: IncomingMessage, res: ServerResponse, principal: Principal, resource: string, initialize: Message): Promise<RelaySession | undefined> {
    const params = initialize.params as { protocolVersion?: string; clientInfo?: { name?: string; version?: string } };
    const client = { name: String(params.clientInfo?.name ?? 'unknown').slice(0, 200), version: String(params.clientInfo?.version ?? '').slice(0, 100) };
    const holder: { session?: RelaySession } = {};
    let opened: OpenedSession;
    try {
      opened = await this.broker.open({
        principal,
        resourceName: resource,
        role: null,
        expectedType: 'mcp',
        sourceAddress: sourceOf(req),
        declared: {
          client: 'mcp',
          applicationName: `mcp:${client.name}`,
          ...(typeof req.headers['user-agent'] === 'string' ? { userAgent: req.headers['user-agent'].slice(0, 512) } : {}),
          mcp: { clientName: client.name, clientVersion: client.version, protocolVersion: String(params.protocolVersion ?? '').slice(0, 40), declared: true },
        },
        onTerminate: () => {
          if (holder.session) void this.end(holder.session, 'resource');
        },
      });
    } catch (error) {
      if (!(error instanceof SessionRefused)) throw error;
      const status = error.closeCode === CONNECT_CLOSE.forbidden ? 403 : error.closeCode === CONNECT_CLOSE.unknownResource ? 404 : error.closeCode === CONNECT_CLOSE.resourceOffline ? 503 : 502;
      jsonRpcError(res, status, JSONRPC.serverError, error.message);
      return undefined;
    }
    const session = new RelaySession(opened.sessionId, resource, principal, opened, {
      heldCall: (s, report) => this.heldCall(s, report),
      malformed: (s) => this.log.warn({ sessionId: s.id }, 'agent sent a line that is not a JSON object'),
      ended: (s) => void this.end(s, 'resource'),
    });
    holder.session = session;
    this.sessions.set(session.id, session);
    this.readLines(session);
    return session;
  }

  /**
   * A held call the agent reports: recorded for its principal once the approval is confirmed to be
   * this session's (never someone else's), then its outcome, for `wait_for_approval` on any replica.
   */
  private heldCall(s: RelaySession, report: McpHeldCallReport): void {
    const open = this.heldOpen.get(s.id) ?? new Set<string>();
    this.heldOpen.set(s.id, open);
    const step = async () => {
      if (typeof report.approvalId !== 'string') return;
      if (report.state === 'held') {
        const approval = await this.approvals.get(report.approvalId, s.principal).catch(() => null);
        if (!approval || approval.sessionId !== s.id) return void this.log.warn({ sessionId: s.id, approvalId: report.approvalId }, 'agent reported a held call whose approval is not this session\'s');
        await this.heldCalls.hold({ approvalId: report.approvalId, principalId: s.principal.id, mcpSessionId: null, tool: String(report.tool).slice(0, 256), resource: s.resource, sessionId: s.id });
        open.add(report.approvalId);
        return;
      }
      if (!open.delete(report.approvalId)) return;
      if (report.state === 'completed') await this.heldCalls.finish(report.approvalId, 'completed', { result: report.result, isError: false });
      else await this.heldCalls.finish(report.approvalId, 'failed', { isError: true, error: String(report.error), message: String(report.message), ...(report.result ? { result: report.result } : {}) });
    };
    const chain = (this.heldChain.get(s.id) ?? Promise.resolve()).then(step).catch((err: unknown) => this.log.error({ err, sessionId: s.id }, 'storing a held MCP call failed'));
    this.heldChain.set(s.id, chain);
  }

  /** Lines from the agent, one JSON-RPC message (or a report of the agent) each. */
  private readLines(s: RelaySession): void {
    let buffered = '';
    const stream = s.opened.stream;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      s.bytesOut += Buffer.byteLength(chunk);
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        s.fromAgent(line);
      }
      if (buffered.length > MAX_LINE_BYTES) {
        this.log.warn({ sessionId: s.id }, 'agent message over the limit: ending the session');
        void this.end(s, 'error');
      }
    });
    stream.on('error', () => undefined);
    stream.once('close', () => void this.end(s, 'resource'));
  }

  private answerTo(s: RelaySession, m: Message): Promise<Message> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        s.waiting.delete(keyOf(m.id));
        resolve({ jsonrpc: '2.0', id: m.id, error: { code: -32001, message: `no answer within ${ANSWER_TIMEOUT_MS / 60_000} minutes` } });
      }, ANSWER_TIMEOUT_MS);
      timer.unref();
      s.waiting.set(keyOf(m.id), (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }

  private async end(s: RelaySession, endedBy: 'client' | 'resource' | 'error'): Promise<void> {
    if (s.ended) return;
    s.ended = true;
    this.sessions.delete(s.id);
    this.endedWhy.set(s.id, s.endReason ?? (endedBy === 'client' ? 'the client ended it' : endedBy === 'error' ? 'the gateway ended it after an error' : 'the agent or the server ended it'));
    if (this.endedWhy.size > ENDED_REMEMBERED) this.endedWhy.delete(this.endedWhy.keys().next().value!);
    s.close();
    s.opened.stream.destroy();
    // Calls still held can no longer run: wait_for_approval says so instead of waiting.
    const open = this.heldOpen.get(s.id);
    this.heldOpen.delete(s.id);
    await (this.heldChain.get(s.id) ?? Promise.resolve());
    this.heldChain.delete(s.id);
    for (const approvalId of open ?? []) {
      await this.heldCalls.finish(approvalId, 'failed', { isError: true, error: 'resource_error', message: `the session ended (${this.endedWhy.get(s.id)}) before the held call ran: it did not run` }).catch((err: unknown) => this.log.warn({ err }, 'storing a held MCP call failed'));
    }
    await s.opened.finish({ bytesIn: s.bytesIn, bytesOut: s.bytesOut, endedBy }).catch((err: unknown) => this.log.warn({ err }, 'closing an MCP relay session failed'));
  }
}
