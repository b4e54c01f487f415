import net from 'node:net';
import type { BackendMessage } from '../../src/backend-messages.js';
import { BackendParser } from '../../src/backend-parser.js';
import type { Parsed } from '../../src/frontend-messages.js';

type Message = Parsed<BackendMessage>;

/**
 * A bare TCP socket wired to the BackendParser: the test speaks the protocol itself with the
 * library's serializers, so nothing of node-postgres sits between the codec and the server.
 */
export class RawConnection {
  readonly parser = new BackendParser();
  private readonly inbox: Message[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const m of this.parser.parse(chunk)) this.inbox.push(m);
      } catch (err) {
        this.failure = err as Error;
        socket.destroy();
      }
      this.wake();
    });
    socket.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
    socket.on('close', () => {
      this.failure ??= new Error('connection closed');
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Next message, failing the test instead of hanging when the server goes quiet. */
  async next(timeoutMs = 10_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.inbox.shift();
      if (m !== undefined) return m;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a backend message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Messages up to and including the first of the given kind. */
  async until(kind: Message['kind']): Promise<Message[]> {
    const out: Message[] = [];
    for (;;) {
      const m = await this.next();
      out.push(m);
      if (m.kind === kind) return out;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/** Narrows a message to the expected kind or fails with what arrived instead. */
export function expectKind<K extends Message['kind']>(m: Message | undefined, kind: K): Extract<Message, { kind: K }> {
  if (m?.kind !== kind) {
    const detail = m?.kind === 'ErrorResponse' ? `: ${m.fields.code ?? ''} ${m.fields.message ?? ''}` : '';
    throw new Error(`expected ${kind}, got ${m?.kind ?? 'nothing'}${detail}`);
  }
  return m as Extract<Message, { kind: K }>;
}
