import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { CONNECT_CLOSE } from '@gw/contracts';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { SessionBroker, SessionRefused, type OpenedSession } from '../connect/session-broker.service.js';
import { JSONRPC, header, jsonRpcError, readBody, sourceOf } from './mcp-http-io.js';
import { McpRequestAuth } from './mcp-request-auth.js';

/** Longest a client request waits for its answer here (the agent's own per-call limit is usually lower). */
const ANSWER_TIMEOUT_MS = 15 * 60 * 1000;
/** Longest line the agent may send (one JSON-RPC message). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

type Message = Record<string, unknown> & { id?: unknown; method?: unknown };

/** One client's MCP session with a server behind an agent: a tunnel stream that lives on this replica. */
interface RelaySession {
  id: string;
  principalId: string;
  opened: OpenedSession;
  waiting: Map<string, (answer: Message) => void>;
  bytesIn: number;
  bytesOut: number;
  ended: boolean;
}

const keyOf = (id: unknown) => JSON.stringify(id);
const isRequest = (m: Message) => typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number');

/**
 * `/mcp/<resource>`: an MCP server behind an agent, over Streamable HTTP, with the authorization of
 * `/mcp` (Origin, bearer token for the gateway's audience; the token is never passed on). `initialize`
 * opens a session through the session broker (`connect` policy, session record, tunnel stream to the
 * agent); its id is the `Mcp-Session-Id`. Each JSON-RPC message then goes to the agent as one line of
 * the stream, where policy, approvals, masking and recording happen; answers come back the same way
 * and are returned as JSON. The stream lives on the replica that opened it: a request of the session
 * that reaches another replica gets 404 (put clients of `/mcp/<resource>` on one replica, or use
 * sticky sessions on `Mcp-Session-Id`). Server-to-client messages are not relayed (no GET stream).
 */
@Injectable()
export class McpUpstreamHandler implements BeforeApplicationShutdown {
  private readonly log = loggerFor(McpUpstreamHandler);
  private readonly sessions = new Map<string, RelaySession>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(McpRequestAuth) private readonly auth: McpRequestAuth,
    @Inject(SessionBroker) private readonly broker: SessionBroker,
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
    if (req.method !== 'POST' && req.method !== 'DELETE') {
      res.setHeader('Allow', 'POST, DELETE');
      return jsonRpcError(res, 405, JSONRPC.serverError, 'Method not allowed: the gateway relays no server-initiated messages (POST requests, DELETE to end a session)');
    }
    const principal = await this.auth.authenticate(req, res);
    if (!principal) return;

    if (req.method === 'DELETE') {
      const s = this.sessionOf(req, principal.id, resource);
      if (!s) return jsonRpcError(res, 404, JSONRPC.sessionNotFound, 'Session not found');
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
      if (!found) {
        const id = header(req, 'mcp-session-id');
        return id
          ? jsonRpcError(res, 404, JSONRPC.sessionNotFound, 'Session not found (sessions of /mcp/<resource> are served by the gateway replica that opened them)')
          : jsonRpcError(res, 400, JSONRPC.serverError, 'Bad Request: Mcp-Session-Id header is required');
      }
      session = found;
    }

    const requests = messages.filter(isRequest);
    const answers = requests.map((m) => this.answerTo(session, m));
    for (const m of messages) this.send(session, m);
    if (requests.length === 0) {
      res.writeHead(202).end();
      return;
    }
    const settled = await Promise.all(answers);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(batch ? settled : settled[0]));
  }

  private sessionOf(req: IncomingMessage, principalId: string, resource: string): RelaySession | undefined {
    const id = header(req, 'mcp-session-id');
    const s = id ? this.sessions.get(id) : undefined;
    // Another principal's session, or another resource's, does not exist for this caller.
    return s && !s.ended && s.principalId === principalId && s.opened.sessionId === id && this.resourceOf.get(s.id) === resource ? s : undefined;
  }

  private readonly resourceOf = new Map<string, string>();

  private async open(req: IncomingMessage, res: ServerResponse, principal: Parameters<SessionBroker['open']>[0]['principal'], resource: string, initialize: Message): Promise<RelaySession | undefined> {
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
    const session: RelaySession = { id: opened.sessionId, principalId: principal.id, opened, waiting: new Map(), bytesIn: 0, bytesOut: 0, ended: false };
    holder.session = session;
    this.sessions.set(session.id, session);
    this.resourceOf.set(session.id, resource);
    this.readAnswers(session);
    return session;
  }

  /** Lines from the agent: answers to the requests waiting here (anything else is not relayed). */
  private readAnswers(s: RelaySession): void {
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
        let m: Message;
        try {
          m = JSON.parse(line) as Message;
        } catch {
          this.log.warn({ sessionId: s.id }, 'agent sent a line that is not JSON');
          continue;
        }
        const resolve = s.waiting.get(keyOf(m.id));
        if (resolve) {
          s.waiting.delete(keyOf(m.id));
          resolve(m);
        }
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

  private send(s: RelaySession, m: Message): void {
    const line = `${JSON.stringify(m)}\n`;
    s.bytesIn += Buffer.byteLength(line);
    s.opened.stream.write(line);
  }

  private async end(s: RelaySession, endedBy: 'client' | 'resource' | 'error'): Promise<void> {
    if (s.ended) return;
    s.ended = true;
    this.sessions.delete(s.id);
    this.resourceOf.delete(s.id);
    for (const [key, resolve] of s.waiting) resolve({ jsonrpc: '2.0', id: JSON.parse(key) as unknown, error: { code: -32603, message: 'the session ended before the server answered' } });
    s.waiting.clear();
    s.opened.stream.destroy();
    await s.opened.finish({ bytesIn: s.bytesIn, bytesOut: s.bytesOut, endedBy }).catch((err: unknown) => this.log.warn({ err }, 'closing an MCP relay session failed'));
  }
}
