import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { innerSshConfig } from '../ssh-endpoint/inner-ssh.js';
import type { Principal } from '@gw/identity';
import { SessionRefused, type OpenedSession, type SessionBroker } from '../connect/session-broker.service.js';
import { ToolRefusal, ToolRefusalKind, refusalForCloseCode } from './tool-context.js';

export const SSH_LIMITS = { defaultTimeoutSeconds: 30, maxTimeoutSeconds: 300, maxOutputBytes: 256 * 1024 } as const;

export interface ExecOutcome {
  stdout: string;
  stderr: string;
  exitStatus: number | null;
  signal: string | null;
  /** Output beyond the byte limit was dropped; `timedOut`: the command was ended at the time limit. */
  truncated: boolean;
  timedOut: boolean;
}

export type ExecStart =
  | { kind: 'done'; outcome: ExecOutcome }
  | { kind: 'held'; approvalId: string; completion: Promise<ExecOutcome> };

/** The agent's stderr line for a held command (apps/agent ssh-policy.ts heldMessage). */
const HELD_LINE = /^gateway: command is held for approval ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) /m;

/**
 * One SSH exec for a tool call, on the same path as the SSH endpoint's: the broker decides `connect`
 * for the login and opens the tunnel stream, an inner SSH connection runs over it, and the agent
 * decides the command (`ssh:exec` with its parsed programs and flags), logs in to the target with a
 * per-session certificate, holds it for approval where policy says so, and records it.
 */
export class TunnelSshSession {
  private bytesIn = 0;
  private bytesOut = 0;
  private closed = false;

  private constructor(private readonly opened: OpenedSession, private readonly inner: ssh2.Client) {}

  get sessionId(): string {
    return this.opened.sessionId;
  }

  /** The `connect` decision: its masking rules mask the output the tool returns. */
  get decision(): OpenedSession['decision'] {
    return this.opened.decision;
  }

  static async open(broker: SessionBroker, req: { principal: Principal; resource: string; login: string; sourceAddress: string | null; declared: Record<string, unknown>; tool: string; parentSessionId: string | null }): Promise<TunnelSshSession> {
    const inner = new ssh2.Client();
    let opened: OpenedSession;
    try {
      opened = await broker.open({
        principal: req.principal,
        resourceName: req.resource,
        role: req.login,
        expectedType: 'ssh',
        sourceAddress: req.sourceAddress,
        declared: req.declared,
        via: { via: 'mcp', tool: req.tool },
        parentSessionId: req.parentSessionId,
        onTerminate: () => inner.end(),
      });
    } catch (error) {
      if (error instanceof SessionRefused) throw refusalForCloseCode(error.closeCode, error.message, error.decision);
      throw error;
    }
    const session = new TunnelSshSession(opened, inner);
    inner.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        inner.once('ready', resolve);
        inner.once('error', reject);
        inner.once('close', () => reject(new Error('the agent ended the session')));
        inner.connect(innerSshConfig(opened.stream, req.login, 'gw-control-plane-mcp'));
      });
    } catch (error) {
      await session.close();
      throw new ToolRefusal(ToolRefusalKind.ResourceError, `could not open "${req.resource}" as "${req.login}": ${(error as Error).message}`);
    }
    opened.stream.on('data', (chunk: Buffer) => (session.bytesOut += chunk.length));
    return session;
  }

  /** Runs the command; returns when it ended, or at once when the agent holds it for approval. */
  exec(command: string, timeoutSeconds: number): Promise<ExecStart> {
    return new Promise<ExecStart>((resolve, reject) => {
      this.inner.exec(command, (err, channel) => {
        if (err) return reject(new ToolRefusal(ToolRefusalKind.ResourceError, `the command could not be started: ${err.message}`));
        let held = false;
        const completion = collect(channel, timeoutSeconds, (stderrSoFar) => {
          if (held) return;
          const id = HELD_LINE.exec(stderrSoFar)?.[1];
          if (!id) return;
          held = true;
          resolve({ kind: 'held', approvalId: id, completion });
        });
        completion.then((outcome) => {
          if (!held) resolve({ kind: 'done', outcome });
        }, reject);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inner.end();
    this.opened.stream.destroy();
    await this.opened.finish({ bytesIn: this.bytesIn, bytesOut: this.bytesOut, endedBy: 'client' });
  }
}

/**
 * Gathers a channel's output up to the byte limit and its exit status, ending the command at the
 * time limit (unless the agent holds it for approval: see the held line below).
 */
function collect(channel: ClientChannel, timeoutSeconds: number, onStderr: (stderrSoFar: string) => void): Promise<ExecOutcome> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let timedOut = false;
    let exitStatus: number | null = null;
    let signal: string | null = null;
    const take = (into: Buffer[], chunk: Buffer) => {
      const room = SSH_LIMITS.maxOutputBytes - size;
      if (room <= 0) {
        truncated = true;
        return;
      }
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (part.length < chunk.length) truncated = true;
      into.push(part);
      size += part.length;
    };
    const timer = setTimeout(() => {
      timedOut = true;
      channel.signal('KILL');
      channel.close();
    }, timeoutSeconds * 1000);
    timer.unref();
    let heldSeen = false;
    channel.on('data', (chunk: Buffer) => take(out, chunk));
    channel.stderr.on('data', (chunk: Buffer) => {
      take(err, chunk);
      if (!heldSeen) {
        const text = Buffer.concat(err).toString('utf8');
        if (HELD_LINE.test(text)) {
          heldSeen = true;
          // Held: the human's decision may take minutes. Whoever keeps the held call ends the session
          // at the approval's expiry plus the time limit (see HeldCallRunner).
          clearTimeout(timer);
        }
        onStderr(text);
      }
    });
    channel.on('exit', (code: number | null, sig?: string) => {
      exitStatus = code ?? null;
      signal = sig ?? null;
    });
    channel.on('close', () => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitStatus, signal, truncated, timedOut });
    });
  });
}
