import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { TokenAuthenticator } from '../identity/token-authenticator.js';
import { SessionBroker } from '../connect/session-broker.service.js';
import { loadOrCreateCertificate } from '../pg-endpoint/tls-certificate.js';
import { ConnectionIds } from './connection-ids.js';
import { MysqlConnection } from './mysql-connection.js';

/** The native MySQL endpoint (default 127.0.0.1:13306; MYSQL_PORT=-1 turns it off). */
@Injectable()
export class MysqlEndpoint implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(MysqlEndpoint);
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly connectionIds = new ConnectionIds();
  private secureContext?: SecureContext;

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

  async onApplicationBootstrap(): Promise<void> {
    const my = this.config.mysql;
    if (my.port < 0) return;
    const tls = await loadOrCreateCertificate({
      certFile: my.certFile, keyFile: my.keyFile, dataDir: this.config.dataDir, hostnames: ['localhost', '127.0.0.1', '::1'], name: 'mysql-endpoint', envPrefix: 'MYSQL',
    });
    this.secureContext = createSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(my.port, my.host, () => resolve());
    });
    this.log.info({ host: my.host, port: this.port, certificate: tls.source }, 'mysql endpoint listening');
  }

  async beforeApplicationShutdown(): Promise<void> {
    const closed = [...this.sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    new MysqlConnection(socket, {
      tokens: this.tokens,
      broker: this.broker,
      connectionIds: this.connectionIds,
      secureContext: this.secureContext!,
      allowCleartext: this.config.mysql.allowCleartext,
      log: this.log,
    });
  }
}
