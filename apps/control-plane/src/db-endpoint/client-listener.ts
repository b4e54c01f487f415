import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { loadOrCreateCertificate } from '../pg-endpoint/tls-certificate.js';
import type { DatabaseConnectionDeps, DatabaseTransportDeps } from './database-client-connection.js';

export interface ClientListenerOptions {
  port: number;
  host: string;
  /** Cleartext logins from this machine only (development, tests); see lacksRequiredTls. */
  allowCleartext: boolean;
  /** The endpoint's certificate: configured files, or a development one made at first start. */
  certificate: Parameters<typeof loadOrCreateCertificate>[0];
}

/**
 * The TCP listener of a database endpoint: it loads the endpoint's certificate, hands every client
 * socket to the protocol's connection with what all of them need, and keeps the open sockets so that
 * shutdown can let the last error messages leave before it cuts them.
 */
export class ClientListener {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly deps: DatabaseConnectionDeps) {}

  /** The port actually bound (tests bind port 0). */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  /** Listens; resolves with where the certificate came from, for the startup log. */
  async listen(o: ClientListenerOptions, onClient: (socket: Socket, deps: DatabaseTransportDeps) => void): Promise<{ certificate: string }> {
    const tls = await loadOrCreateCertificate(o.certificate);
    const deps: DatabaseTransportDeps = {
      ...this.deps,
      secureContext: createSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }),
      allowCleartext: o.allowCleartext,
    };
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      onClient(socket, deps);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
    return { certificate: tls.source };
  }

  /** Waits up to half a second for clients to close, destroys the rest, then stops listening. */
  async close(): Promise<void> {
    const closed = [...this.sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
