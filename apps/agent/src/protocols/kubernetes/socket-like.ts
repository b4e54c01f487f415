import type { Duplex } from 'node:stream';

/** ws needs these socket methods; a tunnel stream is not a TCP socket, so they do nothing. */
export function socketLike(stream: Duplex): Duplex {
  const s = stream as Duplex & { setTimeout?: unknown; setNoDelay?: unknown; setKeepAlive?: unknown };
  if (typeof s.setTimeout !== 'function') s.setTimeout = () => stream;
  if (typeof s.setNoDelay !== 'function') s.setNoDelay = () => stream;
  if (typeof s.setKeepAlive !== 'function') s.setKeepAlive = () => stream;
  return stream;
}
