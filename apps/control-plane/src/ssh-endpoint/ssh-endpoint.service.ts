import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import ssh2 from 'ssh2';
import type { Connection } from 'ssh2';
import { APP_CONFIG } from '../config/config.module.js';
import { servesClients, type AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { TokenAuthenticator } from '../identity/token-authenticator.js';
import { SessionBroker } from '../connect/session-broker.service.js';
import { loadOrCreateHostKey } from './host-key.js';
import { SshClientConnection } from './ssh-client-connection.js';

/** The SSH endpoint (default 127.0.0.1:12222): `ssh <login>@<resource>@gateway -p 12222`, the OIDC token as password. */
@Injectable()
export class SshEndpoint implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(SshEndpoint);
  private server?: ssh2.Server;
  private readonly connections = new Set<Connection>();
  /** `ssh-ed25519 AAAA...` of the endpoint, for clients' known_hosts. */
  hostKeyLine?: string;

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
    const { ssh } = this.config;
    if (!servesClients(this.config)) return;
    const hostKey = await loadOrCreateHostKey({ file: ssh.hostKeyFile, dataDir: this.config.dataDir });
    this.hostKeyLine = hostKey.fingerprintLine;
    this.server = new ssh2.Server({ hostKeys: [hostKey.key], ident: 'gw-gateway' }, (client, info) => {
      this.connections.add(client);
      client.once('close', () => this.connections.delete(client));
      new SshClientConnection(client, info, { tokens: this.tokens, broker: this.broker, log: this.log });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(ssh.port, ssh.host, () => resolve());
    });
    // Errors of the listening socket or of a client before its handshake must not take the process down.
    this.server.on('error', (err: Error) => this.log.warn({ err: err.message }, 'ssh endpoint error'));
    this.log.info({ host: ssh.host, port: this.port, hostKey: hostKey.source }, 'ssh endpoint listening');
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const c of this.connections) c.end();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
