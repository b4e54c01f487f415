import type { ServerResponse } from 'node:http';
import type { Principal } from '@gw/identity';
import { MCP_HELD_CALL_METHOD, MCP_SESSION_ENDED_METHOD, type McpHeldCallReport } from '@gw/contracts';
import type { OpenedSession } from '../connect/session-broker.service.js';

export type Message = Record<string, unknown> & { id?: unknown; method?: unknown; params?: unknown };

/** Messages of the server kept for a client that has no stream open yet (the oldest are dropped past this). */
const BACKLOG_LIMIT = 100;

const keyOf = (id: unknown) => JSON.stringify(id);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isRequest = (m: Message) => typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number');
const isResponse = (m: Message) => m.method === undefined && (m.result !== undefined || m.error !== undefined);

/**
 * Why a client's messages are refused before they reach the agent, or undefined. A method without
 * an id is a notification only when it is one (`notifications/...`): a `tools/call` without an id
 * would reach the server undecided by policy. Ids are strings or numbers, once per batch.
 */
export function invalidClientMessage(messages: readonly Message[]): string | undefined {
  const ids = new Set<string>();
  for (const m of messages) {
    if (m.method === undefined) continue; // an answer to a request of the server
    if (typeof m.method !== 'string') return 'the method must be a string';
    if (m.id === undefined) {
      if (!m.method.startsWith('notifications/')) return `"${m.method.slice(0, 100)}" without an id: only notifications (notifications/...) may go without one; give the request an id (a string or a number)`;
      continue;
    }
    if (typeof m.id !== 'string' && typeof m.id !== 'number') return `the id of "${m.method.slice(0, 100)}" must be a string or a number`;
    if (ids.has(keyOf(m.id))) return `id ${keyOf(m.id).slice(0, 100)} is used twice in the batch`;
    ids.add(keyOf(m.id));
  }
  return undefined;
}

/**
 * A POST whose answer is still awaited. It answers with JSON unless a message of the server arrives
 * for it first (and the client accepts `text/event-stream`): then it turns into an SSE stream that
 * carries those messages and, last, the answers.
 */
export interface PostStream {
  res: ServerResponse;
  acceptsSse: boolean;
  /** `_meta.progressToken`s of its requests: their progress goes to this stream. */
  progressTokens: Set<string>;
  sse: boolean;
}

export interface RelayHooks {
  /** The state of a held call, as the agent reports it (stored for `wait_for_approval`). */
  heldCall: (s: RelaySession, report: McpHeldCallReport) => void;
  /** A line the agent sent that the relay could not use (not JSON). */
  malformed: (s: RelaySession) => void;
  /** The agent ended the session (its server went away): it is ended here at once. */
  ended: (s: RelaySession) => void;
}

/**
 * One client's MCP session with a server behind an agent, on this replica: the tunnel stream, the
 * requests waiting for answers, and where messages of the server go — the POST stream of the
 * request they belong to (progress by token), else the newest POST stream, else the client's GET
 * stream, else a short backlog for the next GET. A request of the server that nobody can receive is
 * answered at once with an error, so the server does not wait for nothing.
 */
export class RelaySession {
  readonly waiting = new Map<string, (answer: Message) => void>();
  readonly posts: PostStream[] = [];
  getStream: ServerResponse | undefined;
  private readonly backlog: Message[] = [];
  /** Why the agent ended the session, when it said (the server went away). */
  endReason: string | undefined;
  bytesIn = 0;
  bytesOut = 0;
  ended = false;

  constructor(
    readonly id: string,
    readonly resource: string,
    readonly principal: Principal,
    readonly opened: OpenedSession,
    private readonly hooks: RelayHooks,
  ) {}

  /** One line from the agent. */
  fromAgent(line: string): void {
    let m: Message;
    try {
      m = JSON.parse(line) as Message;
    } catch {
      return this.hooks.malformed(this);
    }
    if (!isRecord(m)) return this.hooks.malformed(this);
    if (m.method === MCP_HELD_CALL_METHOD && isRecord(m.params)) return this.hooks.heldCall(this, m.params as unknown as McpHeldCallReport);
    if (m.method === MCP_SESSION_ENDED_METHOD && isRecord(m.params)) {
      this.endReason = String(m.params.reason).slice(0, 500);
      return this.hooks.ended(this);
    }
    if (isResponse(m)) {
      const resolve = this.waiting.get(keyOf(m.id));
      if (!resolve) return;
      this.waiting.delete(keyOf(m.id));
      return resolve(m);
    }
    this.route(m);
  }

  /** A message from the client, as one line to the agent. */
  toAgent(m: Message): void {
    const line = `${JSON.stringify(m)}\n`;
    this.bytesIn += Buffer.byteLength(line);
    this.opened.stream.write(line);
  }

  openGet(res: ServerResponse): void {
    this.getStream = res;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive' });
    res.flushHeaders();
    for (const m of this.backlog.splice(0)) writeEvent(res, m);
    res.once('close', () => {
      if (this.getStream === res) this.getStream = undefined;
    });
  }

  /** Where a message of the server goes (see the class comment). */
  private route(m: Message): void {
    const token = m.method === 'notifications/progress' && isRecord(m.params) ? keyOf(m.params.progressToken) : undefined;
    const open = this.posts.filter((p) => p.acceptsSse && !p.res.writableEnded);
    const post = (token !== undefined ? open.find((p) => p.progressTokens.has(token)) : undefined) ?? open.at(-1);
    if (post) {
      if (!post.sse) {
        post.sse = true;
        post.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive' });
      }
      return writeEvent(post.res, m);
    }
    if (this.getStream && !this.getStream.writableEnded) return writeEvent(this.getStream, m);
    if (isRequest(m)) {
      // Nobody can be asked: the server gets its answer now instead of waiting for its own timeout.
      this.toAgent({ jsonrpc: '2.0', id: m.id, error: { code: -32000, message: 'the client has no open stream to receive this request (open a GET stream on the session, or ask during a request)' } });
      return;
    }
    this.backlog.push(m);
    if (this.backlog.length > BACKLOG_LIMIT) this.backlog.shift();
  }

  /** The answers of a POST: as JSON, or as the last events of its SSE stream. */
  answer(post: PostStream, answers: Message[], batch: boolean): void {
    this.posts.splice(this.posts.indexOf(post), 1);
    if (post.res.writableEnded) return;
    if (post.sse) {
      for (const a of answers) writeEvent(post.res, a);
      post.res.end();
      return;
    }
    post.res.writeHead(200, { 'Content-Type': 'application/json' });
    post.res.end(JSON.stringify(batch ? answers : answers[0]));
  }

  /** Every stream of the session ends; requests still waiting get an error that says why. */
  close(): void {
    const why = this.endReason ? `the session ended: ${this.endReason}` : 'the session ended before the server answered';
    for (const [key, resolve] of this.waiting) resolve({ jsonrpc: '2.0', id: JSON.parse(key) as unknown, error: { code: -32603, message: why } });
    this.waiting.clear();
    this.getStream?.end();
  }
}

function writeEvent(res: ServerResponse, m: Message): void {
  res.write(`event: message\ndata: ${JSON.stringify(m)}\n\n`);
}

/** The progress tokens a client put on its requests (`params._meta.progressToken`). */
export function progressTokensOf(messages: readonly Message[]): Set<string> {
  const tokens = new Set<string>();
  for (const m of messages) {
    const meta = isRecord(m.params) && isRecord(m.params._meta) ? m.params._meta : undefined;
    if (meta && (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')) tokens.add(keyOf(meta.progressToken));
  }
  return tokens;
}
