import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { PG_EVENTS } from '@gw/contracts';
import { APP_CONFIG } from '../config/config.module.js';
import { servesClients, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { TokenAuthenticator } from '../identity/token-authenticator.js';
import { SessionBroker } from '../connect/session-broker.service.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { CancelKeys } from './cancel-keys.js';
import { PgConnection } from './pg-connection.js';
import { loadOrCreateCertificate } from './tls-certificate.js';

/** The native Postgres endpoint (default 127.0.0.1:15432). */
@Injectable()
export class PgEndpoint implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(PgEndpoint);
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly cancelKeys = new CancelKeys();
  private secureContext?: SecureContext;
  private readonly cancelChannel: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TokenAuthenticator) private readonly tokens: TokenAuthenticator,
    @Inject(SessionBroker) private readonly broker: SessionBroker,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
  ) {
    this.cancelChannel = channels(config.redis.prefix).pgCancel;
  }

  /** The port actually bound (tests bind port 0). */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const pg = this.config.postgres;
    if (pg.port < 0 || !servesClients(this.config)) return;
    const tls = await loadOrCreateCertificate({
      certFile: pg.certFile, keyFile: pg.keyFile, dataDir: this.config.dataDir, hostnames: ['localhost', '127.0.0.1', '::1'],
    });
    this.secureContext = createSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    // A cancel request may reach any replica: every replica checks its own keys.
    this.redisChannels.listen(this.cancelChannel, (message) => {
      const { processId, secretKey } = JSON.parse(message) as { processId: number; secretKey: string };
      this.cancelLocal(processId, Buffer.from(secretKey, 'hex'));
    });
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(pg.port, pg.host, () => resolve());
    });
    this.log.info({ host: pg.host, port: this.port, certificate: tls.source }, 'postgres endpoint listening');
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Clients learn why (a held statement cannot survive: its client connection ends here).
    this.broker.terminateAll('the gateway control plane is shutting down; statements waiting for approval did not run');
    // Let the FATAL messages leave before cutting what is still open.
    const closed = [...this.sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    new PgConnection(socket, {
      tokens: this.tokens,
      broker: this.broker,
      cancelKeys: this.cancelKeys,
      secureContext: this.secureContext!,
      allowCleartext: this.config.postgres.allowCleartext,
      onCancel: (processId, secretKey) => {
        if (this.cancelLocal(processId, secretKey)) return;
        this.redisChannels
          .publishNowOrNever(this.cancelChannel, JSON.stringify({ processId, secretKey: secretKey.toString('hex') }))
          .catch((err: unknown) => this.log.warn({ err }, 'cancel broadcast failed'));
      },
      log: this.log,
    });
  }

  private cancelLocal(processId: number, secretKey: Buffer): boolean {
    const sessionId = this.cancelKeys.resolve(processId, secretKey);
    if (!sessionId) return false;
    this.broker.notify(sessionId, PG_EVENTS.cancel, { sessionId });
    return true;
  }
}
