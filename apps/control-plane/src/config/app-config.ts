import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The only place that reads process.env. Parsed once at boot; a bad value stops the
 * process with a message naming the variable.
 */
const jsonFromString = (name: string) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} must be valid JSON` });
      return z.NEVER;
    }
  });

const protocolOf = (url: string) => {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
};

const DEFAULT_OIDC_ISSUERS = JSON.stringify([{ issuer: 'http://127.0.0.1:9000', audience: 'api://gateway' }]);

const envSchema = z.object({
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PUBLIC_URL: z.string().url().optional(),
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/gateway'),
  DATABASE_CREATE_IF_MISSING: z.enum(['true', 'false']).default('true'),
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS; the user is a Redis ACL user. */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379')
    .refine((url) => /^rediss?:$/.test(protocolOf(url)), 'REDIS_URL must start with redis:// or rediss:// (TLS)'),
  /** PEM file of the CA(s) that signed the Redis server's certificate (rediss:// only). */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  /** Replica messages older (or newer) than this are dropped: clock skew plus Redis latency. */
  REDIS_MESSAGE_MAX_SKEW_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  REDIS_PREFIX: z.string().default('gw'),
  OIDC_ISSUERS: jsonFromString('OIDC_ISSUERS').default(JSON.parse(DEFAULT_OIDC_ISSUERS) as unknown),
  ROLE_MAPPINGS: jsonFromString('ROLE_MAPPINGS').optional(),
  /** Refused credentials audited one by one per source address and minute; the rest go into one summary per minute. */
  AUDIT_REFUSALS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(20),
  DATA_DIR: z.string().default('.data/control-plane'),
  MIGRATIONS_RUN: z.enum(['true', 'false']).default('true'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PG_HOST: z.string().default('127.0.0.1'),
  PG_PORT: z.coerce.number().int().min(0).max(65535).default(15432),
  PG_TLS_CERT_FILE: z.string().optional(),
  PG_TLS_KEY_FILE: z.string().optional(),
  PG_ALLOW_CLEARTEXT: z.enum(['true', 'false']).default('false'),
  MYSQL_HOST: z.string().default('127.0.0.1'),
  /** MySQL wire endpoint; -1 turns it off. */
  MYSQL_PORT: z.coerce.number().int().min(-1).max(65535).default(13306),
  MYSQL_TLS_CERT_FILE: z.string().optional(),
  MYSQL_TLS_KEY_FILE: z.string().optional(),
  /** Accept the token without TLS from loopback clients only (development; never over a network). */
  MYSQL_ALLOW_CLEARTEXT: z.enum(['true', 'false']).default('false'),
  SSH_HOST: z.string().default('127.0.0.1'),
  SSH_PORT: z.coerce.number().int().min(0).max(65535).default(12222),
  SSH_HOST_KEY_FILE: z.string().optional(),
  K8S_HOST: z.string().default('127.0.0.1'),
  /** Kubernetes API endpoint (HTTPS); -1 turns it off. */
  K8S_PORT: z.coerce.number().int().min(-1).max(65535).default(16443),
  K8S_TLS_CERT_FILE: z.string().optional(),
  K8S_TLS_KEY_FILE: z.string().optional(),
  /** The endpoint's address as clients reach it (`gw kubeconfig` writes it as the cluster's server). */
  K8S_PUBLIC_URL: z.string().url().refine((url) => protocolOf(url) === 'https:', 'K8S_PUBLIC_URL must be an https:// URL').optional(),
  /** Agent connections being set up at once on this replica; more are refused as busy and retry after their backoff. */
  AGENT_MAX_CONCURRENT_SETUPS: z.coerce.number().int().min(1).max(10_000).default(64),
  AGENT_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** Longest grant when the `request_access` permit has no @max_session (seconds, 1 min to 7 days). */
  GRANT_MAX_DURATION_SECONDS: z.coerce.number().int().min(60).max(7 * 86_400).default(8 * 3600),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(30).default(8),
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(2000),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  WEBHOOK_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** Browser origins allowed to call /mcp besides PUBLIC_URL's own (comma-separated); requests without Origin are not browsers. */
  MCP_ALLOWED_ORIGINS: z.string().default('')
    .transform((text) => text.split(',').map((o) => o.trim()).filter((o) => o !== ''))
    .refine((list) => list.every((o) => { try { return new URL(o).origin === o; } catch { return false; } }), 'MCP_ALLOWED_ORIGINS must list origins (scheme://host[:port]) separated by commas'),
  /** Largest JSON-RPC request body /mcp accepts (bytes). */
  MCP_MAX_REQUEST_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  /** Days an ended MCP session's state and a finished held call's stored result are kept (its session record and events stay). */
  MCP_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** How often idle MCP sessions are ended and expired MCP state deleted (ms). */
  MCP_HOUSEKEEPING_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(3_600_000),
  /** api: listeners, no background jobs; worker: BullMQ jobs and webhook delivery, no listeners; all: both. */
  CONTROL_PLANE_ROLE: z.enum(['api', 'worker', 'all']).default('all'),
  /** How often the job owners put back jobs a Redis restart lost (worker role). */
  JOB_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** This replica's stable name (a restarted replica finds its earlier life's sessions by it). */
  REPLICA_NAME: z.string().min(1).max(200).optional(),
  /** Where agents reach this replica directly (the pod's address behind a load balancer); default PUBLIC_URL. */
  REPLICA_AGENT_URL: z.string().url().optional(),
  REPLICA_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  REPLICA_STALE_AFTER_MS: z.coerce.number().int().min(300).max(600_000).default(30_000),
  SESSION_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /** The built web console (apps/console/dist by default); served at `/`. */
  CONSOLE_DIR: z.string().min(1).optional(),
  /** The IdP people sign in to the console with; default the first OIDC_ISSUERS entry without a tenant placeholder. */
  CONSOLE_OIDC_ISSUER: z.string().url().optional(),
  /** The console's public client (authorization code + PKCE, no secret) registered at that IdP. */
  CONSOLE_OIDC_CLIENT_ID: z.string().min(1).max(200).default('gateway-console'),
  /** Scopes the console asks for (space-separated); for Entra add the gateway API's scope, e.g. `api://gateway/.default`. */
  CONSOLE_OIDC_SCOPES: z.string().min(1).max(1000).default('openid profile'),
  /** RFC 8707 `resource` the console asks a token for; default the audience of the console's issuer entry (empty: none, as for Entra). */
  CONSOLE_OIDC_RESOURCE: z.string().max(512).optional(),
}).refine((e) => e.REPLICA_STALE_AFTER_MS >= 3 * e.REPLICA_HEARTBEAT_MS, {
  message: 'REPLICA_STALE_AFTER_MS must be at least three REPLICA_HEARTBEAT_MS',
  path: ['REPLICA_STALE_AFTER_MS'],
});

export type ControlPlaneRole = 'api' | 'worker' | 'all';

export interface AppConfig {
  /** What this process does (CONTROL_PLANE_ROLE): see servesClients() and runsJobs(). */
  role: ControlPlaneRole;
  http: { host: string; port: number; publicUrl: string };
  /** The web console: where its build is, and how it signs people in (undefined oidc: no issuer to offer). */
  console: { dir: string; oidc?: ConsoleOidc };
  database: { url: string; createIfMissing: boolean; runMigrations: boolean };
  /**
   * `tlsCa`: the PEM of REDIS_TLS_CA_FILE, read at boot. `messageMaxSkewMs`: the freshness window of
   * sealed replica messages (see redis/replica-message-seal.ts).
   */
  redis: { url: string; prefix: string; tls: boolean; tlsCa?: string; messageMaxSkewMs: number };
  /** `refusalsPerMinute`: see RefusalAuditThrottle (identity/refusal-audit-throttle.ts). */
  identity: { issuers: unknown; roleMappings: unknown; refusalsPerMinute: number };
  postgres: { host: string; port: number; certFile?: string; keyFile?: string; allowCleartext: boolean };
  /** MySQL wire endpoint (user `<db user>@<resource>`, token via mysql_clear_password over TLS); port -1 = off. */
  mysql: { host: string; port: number; certFile?: string; keyFile?: string; allowCleartext: boolean };
  /** SSH endpoint; `hostKeyFile` defaults to `<dataDir>/ssh/host_ed25519_key`, made at first start. */
  ssh: { host: string; port: number; hostKeyFile?: string };
  /** Kubernetes API endpoint (HTTPS, cluster by path `/k8s/<resource>`); port -1 = off. */
  kubernetes: { host: string; port: number; certFile?: string; keyFile?: string; publicUrl?: string };
  /** Agents heartbeat at this interval; three missed heartbeats mark their resources offline. */
  agents: { heartbeatIntervalMs: number; maxConcurrentSetups: number };
  grants: { maxDurationSeconds: number };
  /** Jobs lost with a Redis restart (no persistence) are put back from the database this often. */
  jobs: { reconcileIntervalMs: number };
  /**
   * Webhook delivery: attempts per delivery (then dead-lettered), base of the exponential backoff
   * (attempt n+1 waits backoffMs * 2^(n-1)), timeout of one attempt, and how often pending rows
   * without a queued job (Redis was down when they were created) are queued again.
   */
  webhooks: { maxAttempts: number; backoffMs: number; timeoutMs: number; sweepIntervalMs: number };
  /**
   * MCP endpoint: `resourceUrl` is its RFC 9728 resource identifier (`<PUBLIC_URL>/mcp`); browser
   * requests are accepted only from `allowedOrigins` (PUBLIC_URL's origin and MCP_ALLOWED_ORIGINS).
   */
  mcp: { resourceUrl: string; allowedOrigins: string[]; maxRequestBytes: number; retentionDays: number; housekeepingIntervalMs: number };
  /**
   * This process among the control plane replicas: `name` is stable across restarts (REPLICA_NAME,
   * else `<hostname>:<HTTP_PORT>`); a replica whose heartbeat is older than `staleAfterMs` is gone,
   * and its live sessions are closed by whichever replica's sweep notices first.
   */
  replica: { name: string; agentUrl?: string; heartbeatMs: number; staleAfterMs: number; sessionSweepIntervalMs: number };
  dataDir: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
}

export interface ConsoleOidc {
  issuer: string;
  clientId: string;
  scopes: string;
  resource?: string;
}

export class ConfigError extends Error {}

const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist', import.meta.url));

/**
 * The console signs in at CONSOLE_OIDC_ISSUER, else at the first trusted issuer that names one IdP
 * (not an Entra `{tenantid}` template); its token must then pass the same checks as any other.
 */
function consoleOidc(e: z.infer<typeof envSchema>): ConsoleOidc | undefined {
  const entries = Array.isArray(e.OIDC_ISSUERS) ? (e.OIDC_ISSUERS as { issuer?: unknown; audience?: unknown }[]) : [];
  const concrete = entries.filter((entry) => typeof entry?.issuer === 'string' && !entry.issuer.includes('{'));
  const issuer = e.CONSOLE_OIDC_ISSUER ?? (concrete[0]?.issuer as string | undefined);
  if (issuer === undefined) return undefined;
  const trusted = concrete.find((entry) => entry.issuer === issuer);
  const resource = e.CONSOLE_OIDC_RESOURCE ?? (typeof trusted?.audience === 'string' ? trusted.audience : '');
  return { issuer: issuer.replace(/\/+$/, ''), clientId: e.CONSOLE_OIDC_CLIENT_ID, scopes: e.CONSOLE_OIDC_SCOPES, ...(resource ? { resource } : {}) };
}

/** Whether this process listens for clients and agents (HTTP, Postgres, SSH, Kubernetes endpoints). */
export const servesClients = (config: Pick<AppConfig, 'role'>): boolean => config.role !== 'worker';

/** Whether this process runs the background jobs (BullMQ timers, webhook delivery and its sweep). */
export const runsJobs = (config: Pick<AppConfig, 'role'>): boolean => config.role !== 'api';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const publicUrl = (e.PUBLIC_URL ?? `http://${e.HTTP_HOST}:${e.HTTP_PORT}`).replace(/\/+$/, '');
  return {
    role: e.CONTROL_PLANE_ROLE,
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT, publicUrl },
    console: { dir: e.CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR, ...withOidc(consoleOidc(e)) },
    database: {
      url: e.DATABASE_URL,
      createIfMissing: e.DATABASE_CREATE_IF_MISSING === 'true',
      runMigrations: e.MIGRATIONS_RUN === 'true',
    },
    redis: {
      url: e.REDIS_URL,
      prefix: e.REDIS_PREFIX,
      tls: new URL(e.REDIS_URL).protocol === 'rediss:',
      tlsCa: e.REDIS_TLS_CA_FILE === undefined ? undefined : readRedisCa(e.REDIS_URL, e.REDIS_TLS_CA_FILE),
      messageMaxSkewMs: e.REDIS_MESSAGE_MAX_SKEW_MS,
    },
    identity: { issuers: e.OIDC_ISSUERS, roleMappings: e.ROLE_MAPPINGS, refusalsPerMinute: e.AUDIT_REFUSALS_PER_MINUTE },
    postgres: {
      host: e.PG_HOST,
      port: e.PG_PORT,
      certFile: e.PG_TLS_CERT_FILE,
      keyFile: e.PG_TLS_KEY_FILE,
      allowCleartext: e.PG_ALLOW_CLEARTEXT === 'true',
    },
    mysql: {
      host: e.MYSQL_HOST,
      port: e.MYSQL_PORT,
      certFile: e.MYSQL_TLS_CERT_FILE,
      keyFile: e.MYSQL_TLS_KEY_FILE,
      allowCleartext: e.MYSQL_ALLOW_CLEARTEXT === 'true',
    },
    ssh: { host: e.SSH_HOST, port: e.SSH_PORT, hostKeyFile: e.SSH_HOST_KEY_FILE },
    kubernetes: { host: e.K8S_HOST, port: e.K8S_PORT, certFile: e.K8S_TLS_CERT_FILE, keyFile: e.K8S_TLS_KEY_FILE, publicUrl: e.K8S_PUBLIC_URL },
    agents: { heartbeatIntervalMs: e.AGENT_HEARTBEAT_INTERVAL_MS, maxConcurrentSetups: e.AGENT_MAX_CONCURRENT_SETUPS },
    grants: { maxDurationSeconds: e.GRANT_MAX_DURATION_SECONDS },
    jobs: { reconcileIntervalMs: e.JOB_RECONCILE_INTERVAL_MS },
    webhooks: {
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      sweepIntervalMs: e.WEBHOOK_SWEEP_INTERVAL_MS,
    },
    mcp: {
      resourceUrl: `${publicUrl}/mcp`,
      allowedOrigins: [...new Set([new URL(publicUrl).origin, ...e.MCP_ALLOWED_ORIGINS])],
      maxRequestBytes: e.MCP_MAX_REQUEST_BYTES,
      retentionDays: e.MCP_RETENTION_DAYS,
      housekeepingIntervalMs: e.MCP_HOUSEKEEPING_INTERVAL_MS,
    },
    replica: {
      name: e.REPLICA_NAME ?? `${hostname()}:${e.HTTP_PORT}`,
      ...(e.REPLICA_AGENT_URL ? { agentUrl: e.REPLICA_AGENT_URL.replace(/\/+$/, '') } : {}),
      heartbeatMs: e.REPLICA_HEARTBEAT_MS,
      staleAfterMs: e.REPLICA_STALE_AFTER_MS,
      sessionSweepIntervalMs: e.SESSION_SWEEP_INTERVAL_MS,
    },
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
  };
}

const withOidc = (oidc: ConsoleOidc | undefined) => (oidc ? { oidc } : {});

function readRedisCa(url: string, file: string): string {
  if (new URL(url).protocol !== 'rediss:') throw new ConfigError('REDIS_TLS_CA_FILE is set but REDIS_URL is not rediss:// (TLS)');
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`REDIS_TLS_CA_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** A URL with its password (user:password@ or :password@) replaced, for logs and error messages. */
export const stripPassword = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** For logs: the config with credentials in URLs removed. */
export function redactedConfig(config: AppConfig): unknown {
  return {
    ...config,
    database: { ...config.database, url: stripPassword(config.database.url) },
    redis: { ...config.redis, url: stripPassword(config.redis.url), tlsCa: config.redis.tlsCa ? '(PEM)' : undefined },
  };
}
