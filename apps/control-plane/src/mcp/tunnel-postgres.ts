import type { Duplex } from 'node:stream';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { PG_EVENTS } from '@gw/contracts';
import type { Principal } from '@gw/identity';
import { SessionRefused, type OpenedSession, type SessionBroker } from '../connect/session-broker.service.js';
import { ToolRefusal, ToolRefusalKind, refusalForCloseCode } from './tool-context.js';

/** Per-call limits: a model asks for little at a time, and one call cannot hog the agent. */
export const PG_LIMITS = { defaultRows: 100, maxRows: 1000, maxBytes: 512 * 1024, defaultTimeoutSeconds: 30, maxTimeoutSeconds: 300 } as const;
/** Rows fetched per round trip while filling a result. */
const FETCH_BATCH = 100;

export interface QueryOutcome {
  columns: { name: string; dataTypeId: number }[];
  rows: (string | null)[][];
  rowCount: number;
  command: string | null;
  truncated: false | 'maxRows' | 'maxBytes';
}

/** How a statement that ran (or was refused) ended, as the agent answered. */
export type StatementEnd =
  | { kind: 'result'; outcome: QueryOutcome }
  | { kind: 'error'; code: string; message: string; timedOut: boolean };

export type StatementStart =
  | { kind: 'done'; end: StatementEnd }
  /** The agent holds it for approval: `completion` settles when it ran or was refused. */
  | { kind: 'held'; approvalId: string; completion: Promise<StatementEnd> };

/** The agent's NoticeResponse for a held statement (apps/agent statement-approval.ts). */
const HELD_NOTICE = /^statement held for approval ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) /;

/** Values arrive as the server's text (masked by the agent): never parsed into numbers or dates. */
const asText = { getTypeParser: () => (value: string) => value };

/**
 * A Postgres session through the agent for one tool call, exactly like a client of the Postgres
 * endpoint: the broker decides `connect` and opens the tunnel stream, and node-postgres speaks the
 * wire protocol over that stream. The agent then does what it does for every client: ephemeral role,
 * classification, statement policy, approvals, masking, recording.
 */
export class TunnelPgSession {
  private bytesIn = 0;
  private bytesOut = 0;
  private terminated?: string;
  private closed = false;
  private readonly heldListeners = new Set<(approvalId: string) => void>();

  private constructor(private readonly opened: OpenedSession, readonly client: pg.Client) {}

  get sessionId(): string {
    return this.opened.sessionId;
  }

  static async open(broker: SessionBroker, req: { principal: Principal; resource: string; role: string; sourceAddress: string | null; declared: Record<string, unknown>; tool: string; parentSessionId: string | null }): Promise<TunnelPgSession> {
    // The broker may end the session (kill, time limit) before or after the client exists.
    const ending: { session?: TunnelPgSession } = {};
    let opened: OpenedSession;
    try {
      opened = await broker.open({
        principal: req.principal,
        resourceName: req.resource,
        role: req.role,
        expectedType: 'postgres',
        sourceAddress: req.sourceAddress,
        declared: req.declared,
        via: { via: 'mcp', tool: req.tool },
        parentSessionId: req.parentSessionId,
        onTerminate: (_code, reason) => {
          if (ending.session) ending.session.terminated = reason;
        },
      });
    } catch (error) {
      if (error instanceof SessionRefused) throw refusalForCloseCode(error.closeCode, error.message, error.decision);
      throw error;
    }
    const stream = asSocketLike(opened.stream);
    const client = new pg.Client({
      stream: () => stream,
      user: req.role,
      database: req.resource,
      application_name: (typeof req.declared.applicationName === 'string' ? req.declared.applicationName : 'mcp').slice(0, 63),
    });
    const s = new TunnelPgSession(opened, client);
    ending.session = s;
    opened.stream.on('data', (chunk: Buffer) => (s.bytesOut += chunk.length));
    const write = opened.stream.write.bind(opened.stream);
    opened.stream.write = ((chunk: Buffer, ...rest: never[]) => {
      s.bytesIn += chunk.length;
      return write(chunk, ...rest);
    }) as typeof opened.stream.write;
    client.on('error', () => undefined); // the tunnel going away; the pending call reports it
    client.on('notice', (n: { message?: string }) => {
      const held = HELD_NOTICE.exec(n.message ?? '')?.[1];
      if (held) for (const l of s.heldListeners) l(held);
    });
    try {
      await client.connect();
    } catch (error) {
      // The agent refused the session itself (a privileged role, a database it cannot reach).
      const e = error as { code?: string; message?: string };
      await s.close(e.code ? { code: e.code, message: e.message ?? 'refused' } : undefined);
      throw new ToolRefusal(e.code?.startsWith('28') ? ToolRefusalKind.Denied : ToolRefusalKind.ResourceError,
        `could not open "${req.resource}" as "${req.role}": ${s.terminated ?? e.message ?? 'the agent ended the session'}`);
    }
    return s;
  }

  /**
   * Runs one statement with the per-call limits. Returns as soon as it is done, or as soon as the
   * agent says it holds it for approval (the statement then goes on waiting in the agent).
   */
  run(sql: string, params: unknown[], maxRows: number, timeoutSeconds: number): Promise<StatementStart> {
    return new Promise<StatementStart>((resolve) => {
      let held = false;
      const completion = this.fetch(sql, params, maxRows, timeoutSeconds * 1000, () => held);
      const onHeld = (approvalId: string) => {
        if (held) return;
        held = true;
        this.heldListeners.delete(onHeld);
        resolve({ kind: 'held', approvalId, completion });
      };
      this.heldListeners.add(onHeld);
      void completion.then((end) => {
        this.heldListeners.delete(onHeld);
        if (!held) resolve({ kind: 'done', end });
      });
    });
  }

  private async fetch(sql: string, params: unknown[], maxRows: number, timeoutMs: number, isHeld: () => boolean): Promise<StatementEnd> {
    const cursor = this.client.query(new Cursor<(string | null)[]>(sql, params, { rowMode: 'array', types: asText }));
    let timedOut = false;
    // The time limit counts from the start, or from the approval for a held statement.
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(() => {
        timedOut = true;
        this.opened.notifyAgent(PG_EVENTS.cancel, { sessionId: this.opened.sessionId });
      }, timeoutMs);
      timer.unref();
    };
    if (!isHeld()) arm();
    const rows: (string | null)[][] = [];
    let bytes = 0;
    let truncated: QueryOutcome['truncated'] = false;
    try {
      for (;;) {
        // One row more than asked for tells whether there were more.
        const want = Math.min(FETCH_BATCH, maxRows + 1 - rows.length);
        const { batch, result } = await readBatch(cursor, want);
        if (isHeld() && timer === undefined) arm();
        for (const row of batch) {
          if (rows.length >= maxRows) {
            truncated = 'maxRows';
            break;
          }
          bytes += JSON.stringify(row).length;
          if (bytes > PG_LIMITS.maxBytes) {
            truncated = 'maxBytes';
            break;
          }
          rows.push(row);
        }
        if (truncated || batch.length < want) {
          const command = result.command ?? null;
          return {
            kind: 'result',
            outcome: {
              columns: (result.fields ?? []).map((f) => ({ name: f.name, dataTypeId: f.dataTypeID })),
              rows,
              // A suspended portal reports only its last batch: rows returned are counted here.
              rowCount: truncated || command === 'SELECT' || command === null ? rows.length : (result.rowCount ?? rows.length),
              command,
              truncated,
            },
          };
        }
      }
    } catch (error) {
      const e = error as { code?: string; message?: string };
      if (this.terminated) return { kind: 'error', code: '57P01', message: this.terminated, timedOut };
      return { kind: 'error', code: e.code ?? '08006', message: e.message ?? 'the session ended', timedOut };
    } finally {
      clearTimeout(timer);
      await cursor.close().catch(() => undefined);
    }
  }

  /** Ends the client session and closes the session record. */
  async close(refusedAtStartup?: { code: string; message: string }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.race([this.client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.opened.stream.destroy();
    await this.opened.finish({ bytesIn: this.bytesIn, bytesOut: this.bytesOut, endedBy: 'client', ...(refusedAtStartup ? { refusedAtStartup } : {}) });
  }
}

function readBatch(cursor: Cursor<(string | null)[]>, n: number): Promise<{ batch: (string | null)[][]; result: pg.QueryResult }> {
  return new Promise((resolve, reject) => {
    cursor.read(Math.max(1, n), (err, batch, result) => (err ? reject(err) : resolve({ batch, result })));
  });
}

/** node-postgres wants a net.Socket: the tunnel stream is already connected. */
function asSocketLike(stream: Duplex): Duplex {
  return Object.assign(stream, {
    connect: () => process.nextTick(() => stream.emit('connect')),
    setNoDelay: () => stream,
    setKeepAlive: () => stream,
  });
}
