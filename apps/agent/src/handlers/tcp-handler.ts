import { connect, type Socket } from 'node:net';
import type { ChannelSocket } from '@gw/tunnel';
import type { ProtocolHandler, ProtocolOpenContext } from './protocol-handler.js';

export const TCP_CONNECT_TIMEOUT_MS = 10_000;

function describeDialError(error: NodeJS.ErrnoException, resource: string): string {
  switch (error.code ?? '') {
    case 'ECONNREFUSED':
      return `resource ${resource} refused the connection (ECONNREFUSED)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `resource ${resource}: host name does not resolve (${error.code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `resource ${resource} is unreachable (${error.code})`;
    default:
      return `resource ${resource}: connection failed (${error.code ?? error.message})`;
  }
}

/**
 * Plain TCP: dial the resource, accept the stream once connected, then relay bytes both ways.
 * pipe() carries the backpressure (a full socket stops tunnel credit; no credit pauses the socket)
 * and half-close (END <-> FIN) in each direction independently.
 */
export class TcpHandler implements ProtocolHandler {
  readonly type = 'tcp' as const;

  constructor(private readonly connectTimeoutMs = TCP_CONNECT_TIMEOUT_MS) {}

  open(ctx: ProtocolOpenContext): void {
    const { host, port } = ctx.resource.address;
    const name = ctx.resource.name;
    const socket = connect({ host, port, allowHalfOpen: true, noDelay: true });
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      return true;
    };
    const timer = setTimeout(() => {
      if (!settle()) return;
      socket.destroy();
      ctx.log.warn({ host, port }, 'resource connect timed out');
      ctx.reject('RESOURCE_UNAVAILABLE', `resource ${name} did not accept a connection within ${this.connectTimeoutMs / 1000} s`);
    }, this.connectTimeoutMs);
    const onAbort = (): void => {
      if (settle()) socket.destroy();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (!settle()) return;
      ctx.log.warn({ host, port, code: error.code }, 'resource connect failed');
      ctx.reject('RESOURCE_UNAVAILABLE', describeDialError(error, name));
    });
    socket.once('connect', () => {
      if (!settle()) return;
      let stream: ChannelSocket;
      try {
        stream = ctx.acceptSocket();
      } catch (error) {
        ctx.log.debug({ err: error }, 'open cancelled while dialing');
        socket.destroy();
        return;
      }
      relay(stream, socket);
    });
  }
}

/**
 * Relays one accepted stream and one connected socket, chunk by chunk with backpressure both ways
 * (no Node stream pipes: one call per chunk each way); either side failing tears down the other.
 */
export function relay(stream: ChannelSocket, socket: Socket): void {
  socket.on('error', () => undefined); // reported through 'close' below
  stream.on('error', () => undefined); // the router logs the stream's end
  stream.on('data', (bytes: Buffer) => {
    if (socket.write(bytes)) return;
    stream.pause();
    socket.once('drain', () => stream.resume());
  });
  socket.on('data', (bytes: Buffer) => {
    if (stream.write(bytes)) return;
    socket.pause();
    stream.once('drain', () => socket.resume());
  });
  stream.on('end', () => socket.end());
  socket.on('end', () => stream.end());

  socket.once('close', (hadError) => {
    if (stream.destroyed) return;
    if (hadError) {
      stream.destroy(new Error('resource connection failed'));
      return;
    }
    // The resource closed both directions: let our last bytes and END go out, then drop the
    // client's direction, which nobody can read any more.
    stream.end();
    const done = (): void => {
      if (!stream.readableEnded) stream.destroy();
    };
    if (stream.pendingOutbound === 0) done();
    else stream.once('drain', done);
  });
  stream.once('close', () => {
    // A clean end of both directions leaves the socket to flush and close by itself.
    if (!(stream.readableEnded && stream.writableEnded)) socket.destroy();
  });
}
