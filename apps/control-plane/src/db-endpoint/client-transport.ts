import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export const isLoopback = (address: string | undefined): boolean =>
  !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

/**
 * Whether a login on `socket` must be refused for want of TLS. The token travels as a password, so
 * cleartext is allowed only when configured and only from this machine (development, tests).
 */
export function lacksRequiredTls(socket: Socket | TLSSocket, raw: Socket, allowCleartext: boolean): boolean {
  return !(socket instanceof TLSSocket) && !(allowCleartext && isLoopback(raw.remoteAddress));
}

/** Ends the client socket, and destroys it if the client does not close its side in time. */
export function endClientSocket(socket: Socket | TLSSocket): void {
  socket.end();
  setTimeout(() => socket.destroy(), 1000).unref();
}
