import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { APP_CONFIG } from '../config/config.module.js';
import { servesClients, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { TokenAuthenticator } from '../identity/token-authenticator.js';
import { SessionBroker } from '../connect/session-broker.service.js';
import { loadOrCreateCertificate } from '../pg-endpoint/tls-certificate.js';
import { K8sClientConnection } from './k8s-client-connection.js';
import { sendStatus, writeRawStatus } from './k8s-status.js';

/** The Kubernetes API endpoint (default https://127.0.0.1:16443/k8s/<resource>). */
@Injectable()
export class K8sEndpoint implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(K8sEndpoint);
  private server?: Server;
  private readonly connections = new WeakMap<Socket, K8sClientConnection>();
  private readonly sockets = new Set<Socket>();
  private certificatePem?: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TokenAuthenticator) private readonly tokens: TokenAuthenticator,
    @Inject(SessionBroker) private readonly broker: SessionBroker,
  ) {}

  /** The port actually bound (tests bind port 0). */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  /** What `gw kubeconfig` writes: the server URL clients use and the certificate to trust. */
  endpointInfo(): { enabled: boolean; server?: string; certificateAuthority?: string } {
    if (!this.server || this.port === undefined || !this.certificatePem) return { enabled: false };
    const k = this.config.kubernetes;
    const host = k.host === '0.0.0.0' || k.host === '::' ? '127.0.0.1' : k.host.includes(':') ? `[${k.host}]` : k.host;
    return { enabled: true, server: k.publicUrl?.replace(/\/+$/, '') ?? `https://${host}:${this.port}`, certificateAuthority: this.certificatePem };
  }

  async onApplicationBootstrap(): Promise<void> {
    const k = this.config.kubernetes;
    if (k.port < 0 || !servesClients(this.config)) return;
    const tls = await loadOrCreateCertificate({
      certFile: k.certFile, keyFile: k.keyFile, dataDir: this.config.dataDir, hostnames: ['localhost', '127.0.0.1', '::1'], name: 'k8s-endpoint', envPrefix: 'K8S',
    });
    this.certificatePem = tls.cert.toString('utf8');
    // HTTP/1.1 only (no h2 in ALPN): one request at a time per connection, so the requests of a
    // connection can share one tunnel stream.
    const server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] });
    // Watches and logs -f run for as long as the client wants; the session's own limit ends them.
    server.requestTimeout = 0;
    server.headersTimeout = 30_000;
    server.keepAliveTimeout = 30_000;
    server.on('secureConnection', (socket: TLSSocket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.connectionOf(req.socket).handleRequest(req, res).catch((err: unknown) => {
        this.log.error({ err }, 'kubernetes request failed');
        sendStatus(res, 500, 'InternalError', 'internal error in the gateway');
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.connectionOf(req.socket).handleUpgrade(req, socket, head).catch((err: unknown) => {
        this.log.error({ err }, 'kubernetes upgrade failed');
        writeRawStatus(socket, 500, 'InternalError', 'internal error in the gateway');
      });
    });
    server.on('tlsClientError', (err: Error) => this.log.debug({ err: err.message }, 'kubernetes endpoint TLS handshake failed'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(k.port, k.host, () => resolve());
    });
    this.log.info({ host: k.host, port: this.port, certificate: tls.source }, 'kubernetes endpoint listening');
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private connectionOf(socket: Socket): K8sClientConnection {
    let connection = this.connections.get(socket);
    if (!connection) {
      connection = new K8sClientConnection(socket, { tokens: this.tokens, broker: this.broker, log: this.log });
      this.connections.set(socket, connection);
    }
    return connection;
  }
}
