import net from 'node:net';
import tls from 'node:tls';

/** Raw Postgres wire access to the gateway for malformed-input tests: frames built by hand, TLS after SSLRequest. */

export function frame(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

export function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

export function startupFrame(params: Record<string, string>): Buffer {
  const body = Buffer.concat([...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

export interface RawConn {
  socket: tls.TLSSocket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when the peer closed (or errored) the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  /** Waits until `pred(received)` holds, or rejects after `ms`. */
  waitFor(pred: (b: Buffer) => boolean, ms?: number): Promise<void>;
  write(b: Buffer): void;
  destroy(): void;
}

/** TCP connect, SSLRequest, expect 'S', then TLS. */
export async function rawTls(port: number): Promise<RawConn> {
  const tcp = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    tcp.once('connect', resolve);
    tcp.once('error', reject);
  });
  const req = Buffer.alloc(8);
  req.writeInt32BE(8, 0);
  req.writeInt32BE(80877103, 4);
  tcp.write(req);
  const answer = await new Promise<Buffer>((resolve, reject) => {
    tcp.once('data', resolve);
    tcp.once('error', reject);
    tcp.once('close', () => reject(new Error('closed before SSLRequest answer')));
  });
  if (answer.toString('latin1') !== 'S') throw new Error(`SSLRequest answered ${JSON.stringify(answer.toString('latin1'))}`);
  tcp.removeAllListeners('close');
  tcp.removeAllListeners('error');
  const socket = tls.connect({ socket: tcp, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  let closed = false;
  const waiters = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    // Bounded: these tests never need more than the first 1 MiB of an answer.
    if (buf.length < 1 << 20) buf = Buffer.concat([buf, d]);
    for (const w of waiters) w();
  });
  const closedP = new Promise<void>((resolve) => {
    const done = () => {
      closed = true;
      for (const w of waiters) w();
      resolve();
    };
    socket.on('close', done);
    socket.on('error', done);
  });
  return {
    socket,
    received: () => buf,
    closed: closedP,
    isClosed: () => closed,
    write: (b) => {
      if (!closed && socket.writable) socket.write(b);
    },
    destroy: () => socket.destroy(),
    waitFor(pred, ms = 5000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pred(buf)) {
            cleanup();
            resolve();
          } else if (closed) {
            cleanup();
            reject(new Error(`connection closed; received ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timeout; received ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Backend messages in `b` as [type, body] pairs (incomplete tail ignored). */
export function messages(b: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  let at = 0;
  while (at + 5 <= b.length) {
    const len = b.readInt32BE(at + 1);
    if (len < 4 || at + 1 + len > b.length) break;
    out.push([String.fromCharCode(b[at] ?? 0), b.subarray(at + 5, at + 1 + len)]);
    at += 1 + len;
  }
  return out;
}

/** SQLSTATE of the first ErrorResponse in `b`, if any. */
export function errorCode(b: Buffer): string | undefined {
  const err = messages(b).find(([t]) => t === 'E');
  if (!err) return undefined;
  const fields = err[1].toString('utf8').split('\0');
  return fields.find((f) => f.startsWith('C'))?.slice(1);
}

/** Startup + cleartext password; resolves once the session is ReadyForQuery. */
export async function authenticate(port: number, params: { user: string; database: string; password: string }): Promise<RawConn> {
  const c = await rawTls(port);
  c.write(startupFrame({ user: params.user, database: params.database }));
  await c.waitFor((b) => messages(b).some(([t]) => t === 'R' || t === 'E'));
  const auth = messages(c.received()).find(([t]) => t === 'R');
  if (auth?.[1].readInt32BE(0) !== 3) throw new Error(`expected a cleartext password request, got ${JSON.stringify(c.received().toString('latin1').slice(0, 200))}`);
  c.write(frame('p', cstr(params.password)));
  await c.waitFor((b) => messages(b).some(([t]) => t === 'Z' || t === 'E'), 10_000);
  if (errorCode(c.received())) throw new Error(`authentication failed: ${c.received().toString('latin1')}`);
  return c;
}

/** Deterministic PRNG (mulberry32) so a failing fuzz case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
