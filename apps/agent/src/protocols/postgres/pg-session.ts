import { connect, type Socket } from 'node:net';
import type { EventEmitter } from 'node:events';
import { serializeFrontend } from '@gw/protocol-postgres';
import { PgSessionCore, type ClientPort, type PgSessionCoreOptions } from './pg-session-core.js';

export interface PgSessionOptions extends Omit<PgSessionCoreOptions, 'client' | 'server'> {
  /** The tunnel stream from the control plane (a ChannelSocket; a Duplex in tests). */
  client: ClientPort & Pick<EventEmitter, 'on'>;
  /** The logged-in connection to the database. */
  upstream: Socket;
  upstreamAddress: { host: string; port: number };
  upstreamKey: { processId: number; secretKey: Buffer } | undefined;
}

export type { HoldForApproval } from '../../approvals/approval-client.js';

/**
 * The socket side of one Postgres session: feeds the tunnel stream's and the database socket's bytes
 * to the session core, ends it when either side goes, and sends CancelRequests to the database. All
 * protocol work is in PgSessionCore.
 */
export class PgSession {
  private readonly core: PgSessionCore;

  constructor(private readonly o: PgSessionOptions) {
    const { client, upstream } = o;
    this.core = new PgSessionCore({ ...o, client, server: upstream });
    client.on('data', (chunk: Buffer) => this.core.clientBytes(chunk));
    upstream.on('data', (chunk: Buffer) => this.core.serverBytes(chunk));
    client.on('end', () => this.core.end('client closed the session'));
    client.on('error', () => this.core.end('client stream failed'));
    client.on('close', () => this.core.end('client stream closed'));
    upstream.on('error', () => this.core.end('database connection failed'));
    upstream.on('close', () => this.core.end('database closed the connection'));
    this.core.start();
  }

  /** Sends the client a FATAL error and ends the session (expiry, kill). */
  terminate(code: string, message: string): void {
    this.core.terminate(code, message);
  }

  /** Ends the session (both sides are closed). */
  end(reason: string): void {
    this.core.end(reason);
  }

  /** Forwards a CancelRequest to the server with the real backend key; a held statement is dropped instead. */
  cancel(): void {
    if (this.core.cancelHold()) return;
    const key = this.o.upstreamKey;
    if (!key || this.core.isEnded) return;
    const socket = connect({ host: this.o.upstreamAddress.host, port: this.o.upstreamAddress.port });
    socket.on('error', (error) => this.o.log.warn({ err: error }, 'cancel request failed'));
    socket.on('connect', () => socket.end(serializeFrontend({ kind: 'CancelRequest', processId: key.processId, secretKey: key.secretKey })));
  }
}
