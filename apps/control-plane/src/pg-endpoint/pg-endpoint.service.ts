import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { PG_EVENTS } from '@gw/contracts';
import { APP_CONFIG } from '../config/config.module.js';
import { servesClients, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { TokenAuthenticator } from '../identity/token-authenticator.js';
import { SessionBroker } from '../connect/session-broker.service.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { ClientListener } from '../db-endpoint/client-listener.js';
import { CancelKeys } from './cancel-keys.js';
import { PgConnection } from './pg-connection.js';

/** The native Postgres endpoint (default 127.0.0.1:15432). */
@Injectable()
export class PgEndpoint implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(PgEndpoint);
  private readonly listener: ClientListener;
  private readonly cancelKeys = new CancelKeys();
  private readonly cancelChannel: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TokenAuthenticator) tokens: TokenAuthenticator,
    @Inject(SessionBroker) private readonly broker: SessionBroker,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
  ) {
    this.listener = new ClientListener({ tokens, broker, log: this.log });
    this.cancelChannel = channels(config.redis.prefix).pgCancel;
  }

  /** The port actually bound (tests bind port 0). */
  get port(): number | undefined {
    return this.listener.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const pg = this.config.postgres;
    if (pg.port < 0 || !servesClients(this.config)) return;
    // A cancel request may reach any replica: every replica checks its own keys.
    this.redisChannels.listen(this.cancelChannel, (message) => {
      const { processId, secretKey } = JSON.parse(message) as { processId: number; secretKey: string };
      this.cancelLocal(processId, Buffer.from(secretKey, 'hex'));
    });
    const { certificate } = await this.listener.listen(
      {
        port: pg.port,
        host: pg.host,
        allowCleartext: pg.allowCleartext,
        certificate: { certFile: pg.certFile, keyFile: pg.keyFile, dataDir: this.config.dataDir, hostnames: ['localhost', '127.0.0.1', '::1'] },
      },
      (socket, deps) => new PgConnection(socket, { ...deps, cancelKeys: this.cancelKeys, onCancel: (processId, secretKey) => this.cancel(processId, secretKey) }),
    );
    this.log.info({ host: pg.host, port: this.port, certificate }, 'postgres endpoint listening');
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Clients learn why (a held statement cannot survive: its client connection ends here).
    this.broker.terminateAll('the gateway control plane is shutting down; statements waiting for approval did not run');
    // Let the FATAL messages leave before cutting what is still open.
    await this.listener.close();
  }

  /** A CancelRequest: this replica's session, or broadcast to the replica that has it. */
  private cancel(processId: number, secretKey: Buffer): void {
    if (this.cancelLocal(processId, secretKey)) return;
    this.redisChannels
      .publishNowOrNever(this.cancelChannel, JSON.stringify({ processId, secretKey: secretKey.toString('hex') }))
      .catch((err: unknown) => this.log.warn({ err }, 'cancel broadcast failed'));
  }

  private cancelLocal(processId: number, secretKey: Buffer): boolean {
    const sessionId = this.cancelKeys.resolve(processId, secretKey);
    if (!sessionId) return false;
    this.broker.notify(sessionId, PG_EVENTS.cancel, { sessionId });
    return true;
  }
}
