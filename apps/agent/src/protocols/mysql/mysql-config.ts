import { connect as netConnect } from 'node:net';
import { z } from 'zod';
import { upstreamTls, type UpstreamTls } from '../postgres/upstream-tls.js';

export const MYSQL_MODES = ['ephemeral', 'fixed'] as const;

/**
 * Per-resource options of a `mysql` resource (the `mysql:` block of a resource entry), without the
 * secret reference (`maskingKey`), which the agent config adds with its secret resolver.
 * - `mode`: `ephemeral` creates a user per session (random password, `MAX_USER_CONNECTIONS 1`,
 *   granted the role the client asked for and nothing else, dropped at the end; leftovers of this agent
 *   are swept when the resource is first used). The configured credentials must be allowed to create
 *   users and grant that role. `fixed` logs in with the configured credentials for every session
 *   (weaker: every session is the same database user; only policy stands between them), and the
 *   client must ask for that user.
 * - `ephemeralHost`: the host part of the ephemeral users (`'%'`: from anywhere; set the agent's own
 *   address to pin them to it).
 * - `sampleRows`: result rows (as the client saw them, masked) kept in the recording per statement.
 * - `privilegedRoles`: roles sessions may request although they hold global or administrative
 *   privileges (SUPER, ALL PRIVILEGES ON *.*, FILE, PROCESS, GRANT OPTION ...); any other such role is refused.
 * - `tls`: TLS from the agent to the database (sessions and the agent's admin connections). Absent:
 *   none. Present: `mode` is `verify-full` unless it says otherwise (`verify-ca`: the certificate is
 *   checked against `caFile` but not against the host name; `require`: encrypted, not verified, which
 *   only resists a passive listener); a server without TLS or with a certificate that fails the check
 *   is refused, never downgraded.
 */
export const MYSQL_TLS_MODES = ['require', 'verify-ca', 'verify-full'] as const;
export const mysqlTlsShape = z.strictObject({
  mode: z.enum(MYSQL_TLS_MODES).default('verify-full'),
  /** PEM file with the CA certificate(s) that sign the database's certificate (default: the system CAs). */
  caFile: z.string().min(1).max(1024).optional(),
  /** Name expected in the certificate when it differs from the address's host (verify-full). */
  serverName: z.string().min(1).max(253).optional(),
});
export type MysqlTlsConfig = z.output<typeof mysqlTlsShape>;

export const mysqlOptionsShape = {
  mode: z.enum(MYSQL_MODES).default('ephemeral'),
  ephemeralHost: z.string().min(1).max(255).default('%'),
  sampleRows: z.number().int().min(0).max(1000).default(50),
  privilegedRoles: z.array(z.string().min(1).max(80)).max(200).default([]),
  tls: mysqlTlsShape.optional(),
};

export const DEFAULT_MYSQL_OPTIONS = { mode: 'ephemeral', ephemeralHost: '%', sampleRows: 50, privilegedRoles: [] } as const;
export type MysqlOptions = { mode: (typeof MYSQL_MODES)[number]; ephemeralHost: string; sampleRows: number; privilegedRoles: readonly string[]; tls?: MysqlTlsConfig };

/** Resolved once per resource (reads the CA file: a missing one is a clear error). */
export function mysqlUpstreamTls(config: MysqlTlsConfig | undefined, host: string): UpstreamTls {
  return config ? upstreamTls(config, host) : { use: 'never' };
}

/**
 * The same TLS for the agent's own mysql2 pool. mysql2 checks the certificate's name against the
 * host it connects to (an IP address against the IP SANs) only with `verifyIdentity`; a configured
 * `serverName` becomes the pool's host, the socket still going to the resource's address.
 */
export function mysql2TlsOptions(config: MysqlTlsConfig | undefined, tls: UpstreamTls, address: { host: string; port: number }): Record<string, unknown> {
  if (!config || tls.use === 'never') return {};
  const ssl = {
    ...(tls.options.ca ? { ca: tls.options.ca } : {}),
    rejectUnauthorized: config.mode !== 'require',
    verifyIdentity: config.mode === 'verify-full',
  };
  if (config.mode !== 'verify-full' || !config.serverName) return { ssl };
  return { ssl, host: config.serverName, stream: () => netConnect(address.port, address.host) };
}

/**
 * The agent's own connections (mysql2) fail TLS with a code and the library's words: said the same
 * way as a session's login does, naming the setting (undefined: not a TLS failure).
 */
export function tlsFailure(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') return 'the database does not offer TLS, and the resource requires it (mysql.tls)';
  if (typeof code === 'string' && /^HANDSHAKE_SSL_ERROR$|CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|EPROTO|ERR_SSL/.test(code)) {
    return `TLS to the database failed (mysql.tls): ${String(message)}`;
  }
  return undefined;
}
