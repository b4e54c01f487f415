import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import { servesClients, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { TokenAuthenticator } from '../identity/token-authenticator.js';
import { SessionBroker } from '../connect/session-broker.service.js';
import { ClientListener } from '../db-endpoint/client-listener.js';
import { ConnectionIds } from './connection-ids.js';
import { MysqlConnection } from './mysql-connection.js';

/** The native MySQL endpoint (default 127.0.0.1:13306; MYSQL_PORT=-1 turns it off). */
@Injectable()
export class MysqlEndpoint implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(MysqlEndpoint);
  private readonly listener: ClientListener;
  private readonly connectionIds = new ConnectionIds();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TokenAuthenticator) tokens: TokenAuthenticator,
    @Inject(SessionBroker) broker: SessionBroker,
  ) {
    this.listener = new ClientListener({ tokens, broker, log: this.log });
  }

  /** The port actually bound (tests bind port 0). */
  get port(): number | undefined {
    return this.listener.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const my = this.config.mysql;
    if (my.port < 0 || !servesClients(this.config)) return;
    const { certificate } = await this.listener.listen(
      {
        port: my.port,
        host: my.host,
        allowCleartext: my.allowCleartext,
        certificate: {
          certFile: my.certFile, keyFile: my.keyFile, dataDir: this.config.dataDir, hostnames: ['localhost', '127.0.0.1', '::1'], name: 'mysql-endpoint', envPrefix: 'MYSQL',
        },
      },
      (socket, deps) => new MysqlConnection(socket, { ...deps, connectionIds: this.connectionIds }),
    );
    this.log.info({ host: my.host, port: this.port, certificate }, 'mysql endpoint listening');
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.listener.close();
  }
}
