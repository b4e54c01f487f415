import { errorResponse, FrontendParser, isTransientDatabaseError, ProtocolError, type StartupMessage } from '@gw/protocol-postgres';
import type { ChannelSocket } from '@gw/tunnel';
import { classifySql, loadSqlParser, SqlClassificationError } from '@gw/sql';
import pg from 'pg';
import type { AgentResource } from '../../config/agent-config.js';
import type { ProtocolHandler, ProtocolOpenContext } from '../../handlers/protocol-handler.js';
import { holdThrough } from '../../approvals/approval-client.js';
import { acceptStream, closeResourceStates, msUntilExpiry, policyResource, recordedPrincipal, type DatabaseHandlerOptions } from '../database/database-handler.js';
import { ColumnCatalog } from './column-catalog.js';
import { loadUserCodeViewNames, loadUserFunctionNames, loadUserRowFunctionNames } from './user-functions.js';
import { loadSafeUserTypes } from './user-types.js';
import { EphemeralRoles, RoleRefusedError, assertAssumable, type EphemeralRole } from './ephemeral-roles.js';
import { loadMaskingKey } from './masking-key.js';
import { PgSession } from './pg-session.js';
import { DEFAULT_POSTGRES_OPTIONS } from './postgres-config.js';
import { combineVerdicts, decideStatement, denied, principalFromGrant, type SessionPolicyContext, type StatementVerdict } from './statement-policy.js';
import { decideStartupParams } from './startup-params.js';
import { UpstreamError, openUpstream } from './upstream.js';
import type { SignalSession } from '../../wings.js';
import type { SignalBackend } from './backend-signal.js';
import { poolSslOption, upstreamTls, type UpstreamTls } from './upstream-tls.js';

const STARTUP_TIMEOUT_MS = 15_000;

const signalBackendOf = (signal: SignalSession, sessionId: string): SignalBackend => (req) => signal({ ...req, sessionId });

export type PostgresHandlerOptions = DatabaseHandlerOptions;

/** Per resource: the admin pool, ephemeral role manager and masking key, made on first use. */
interface ResourceState {
  admin: pg.Pool;
  roles: EphemeralRoles;
  maskingKey: Buffer;
  tls: UpstreamTls;
}

/**
 * Serves `postgres` streams: reads the client's StartupMessage (relayed by the control plane), logs
 * in upstream itself (ephemeral role or fixed credentials), then runs a PgSession on the stream.
 */
export class PostgresHandler implements ProtocolHandler {
  readonly type = 'postgres' as const;
  private readonly resources = new Map<string, Promise<ResourceState>>();
  private readonly sessions = new Map<string, PgSession>();
  private readonly parserReady = loadSqlParser();

  constructor(private readonly o: PostgresHandlerOptions) {
    this.parserReady.catch((error: unknown) => o.log.error({ err: error }, 'SQL parser failed to load; postgres sessions will be refused'));
  }

  /** `pg:cancel` from the control plane. */
  cancel(sessionId: string): void {
    this.sessions.get(sessionId)?.cancel();
  }

  /** Open sessions (tests, stats). */
  get openSessions(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) s.terminate('57P01', 'the gateway agent is shutting down');
    await closeResourceStates(this.resources, async (r) => {
      r.roles.close();
      await r.admin.end().catch(() => undefined);
    });
  }

  open(ctx: ProtocolOpenContext): void {
    const stream = acceptStream(ctx, () => ctx.acceptSocket());
    if (!stream) return;
    this.readStartup(stream, ctx).then(
      (startup) => (startup ? this.serve(ctx, stream, startup.message, startup.parser) : undefined),
      (error: unknown) => ctx.log.warn({ err: error }, 'postgres startup failed'),
    ).catch((error: unknown) => {
      ctx.log.error({ err: error }, 'postgres session failed');
      refuse(stream, '08006', 'the gateway agent failed to open the session');
    });
  }

  private readStartup(stream: ChannelSocket, ctx: ProtocolOpenContext): Promise<{ message: StartupMessage; parser: FrontendParser } | undefined> {
    return new Promise((resolve) => {
      const parser = new FrontendParser();
      const timer = setTimeout(() => finish(undefined, 'no startup message from the control plane'), STARTUP_TIMEOUT_MS);
      const finish = (message: StartupMessage | undefined, problem?: string): void => {
        clearTimeout(timer);
        stream.removeListener('data', onData);
        stream.pause();
        if (problem) {
          ctx.log.warn({ problem }, 'postgres stream refused');
          refuse(stream, '08P01', problem);
        }
        resolve(message ? { message, parser } : undefined);
      };
      const onData = (chunk: Buffer): void => {
        try {
          for (const m of parser.parse(chunk)) {
            if (m.kind === 'StartupMessage') return finish(m);
            return finish(undefined, `expected a StartupMessage, got ${m.kind}`);
          }
        } catch (error) {
          finish(undefined, error instanceof ProtocolError ? error.message : 'malformed startup');
        }
      };
      stream.on('data', onData);
    });
  }

  /** Made once per resource; a failure (database down, unreadable CA file) is not kept, the next session retries. */
  private resourceState(resource: AgentResource): Promise<ResourceState> {
    let state = this.resources.get(resource.name);
    if (!state) {
      state = this.makeResourceState(resource);
      state.catch(() => this.resources.delete(resource.name));
      this.resources.set(resource.name, state);
    }
    return state;
  }

  private async makeResourceState(resource: AgentResource): Promise<ResourceState> {
    const options = resource.postgres ?? DEFAULT_POSTGRES_OPTIONS;
    const { host, port } = resource.address;
    const tls = upstreamTls(options.tls, host);
    const admin = new pg.Pool({
      host,
      port,
      user: resource.credentials?.['user']?.reveal(),
      password: resource.credentials?.['password']?.reveal(),
      database: options.database,
      ssl: await poolSslOption(tls, host, port),
      max: 4,
      idleTimeoutMillis: 30_000,
      application_name: 'gw-agent',
    });
    admin.on('error', (error) => this.o.log.warn({ err: error, resource: resource.name }, 'admin connection error'));
    return {
      admin,
      roles: new EphemeralRoles(admin, () => this.o.agentId() ?? 'unknown'),
      maskingKey: loadMaskingKey(resource.postgres?.maskingKey?.reveal(), this.o.spoolDir),
      tls,
    };
  }

  /** A startup setting's `SET` decided as the session would decide it; what cannot be classified is denied. */
  private decideSet(context: SessionPolicyContext, text: string): StatementVerdict {
    let statements;
    try {
      statements = classifySql(text);
    } catch (error) {
      if (error instanceof SqlClassificationError) return denied(`could not classify ${text.slice(0, 80)}: ${error.message}`);
      throw error;
    }
    return combineVerdicts(statements.map((statement) => decideStatement(this.o.policy, context, statement)));
  }

  private async serve(ctx: ProtocolOpenContext, stream: ChannelSocket, startup: StartupMessage, frontend: FrontendParser): Promise<void> {
    const { grant, resource, header, log } = ctx;
    const options = resource.postgres ?? DEFAULT_POSTGRES_OPTIONS;
    if (!resource.credentials?.['user']) {
      return refuse(stream, '08006', `resource ${resource.name} has no credentials.user configured on the agent`);
    }
    try {
      await this.parserReady;
    } catch {
      return refuse(stream, '08006', 'the gateway agent cannot inspect SQL (parser unavailable); refused');
    }
    const policyContext: SessionPolicyContext = {
      principal: principalFromGrant(grant.principal),
      resource: policyResource(resource, 'postgres'),
      dbRole: grant.login,
      sourceIp: header.client.address ?? '',
    };
    const filtered = decideStartupParams(startup.parameters, (text) => this.decideSet(policyContext, text));
    if (!filtered.ok) {
      this.o.shipper.session(grant.sid).record('pg.refused', { role: grant.login, mode: options.mode, code: filtered.code, reason: filtered.message });
      return refuse(stream, filtered.code, filtered.message);
    }
    let state: ResourceState;
    try {
      state = await this.resourceState(resource);
    } catch (error) {
      log.warn({ err: error }, 'cannot prepare the connection to the database');
      return refuse(stream, '08001', `the gateway agent cannot reach the database: ${(error as Error).message.slice(0, 200)}`);
    }
    const expiresAt = new Date(grant.sessionExpiresAt * 1000);
    let ephemeral: EphemeralRole | undefined;
    let upstreamUser: string;
    let upstreamPassword: string | undefined;
    const privilegedRoles = new Set<string>(options.privilegedRoles);
    const refuseRole = (message: string): void => {
      // Recorded like the session's other events, so the refusal is in the session's history.
      this.o.shipper.session(grant.sid).record('pg.refused', { role: grant.login, mode: options.mode, code: '28000', reason: message });
      log.info({ role: grant.login, reason: message }, 'requested database role refused');
      refuse(stream, '28000', message);
    };
    if (options.mode === 'ephemeral') {
      try {
        ephemeral = await state.roles.create(grant.sid, grant.login, expiresAt, privilegedRoles);
      } catch (error) {
        if (error instanceof RoleRefusedError) return refuseRole(error.message);
        if (isConnectionFailure(error)) {
          log.warn({ err: error }, 'cannot reach the database to create the session role');
          return refuse(stream, '08001', `the gateway agent cannot reach the database: ${(error as Error).message.slice(0, 200)}`);
        }
        log.error({ err: error }, 'creating the ephemeral role failed');
        return refuse(stream, '28000', `the gateway could not create a session role for "${grant.login}": ${(error as Error).message.slice(0, 200)}`);
      }
      upstreamUser = ephemeral.name;
      upstreamPassword = ephemeral.password;
    } else {
      upstreamUser = resource.credentials?.['user']?.reveal() ?? '';
      upstreamPassword = resource.credentials?.['password']?.reveal();
      // Every session runs as the fixed user: policy decided on the role asked for, so it must be that user.
      if (grant.login !== upstreamUser) {
        return refuseRole(`resource ${resource.name} logs every session in as "${upstreamUser}" (postgres.mode: fixed); request that role, not "${grant.login}"`);
      }
      try {
        await assertAssumable(state.admin, upstreamUser, privilegedRoles);
      } catch (error) {
        if (error instanceof RoleRefusedError) return refuseRole(error.message);
        log.warn({ err: error }, 'cannot check the fixed role');
        return refuse(stream, '08001', `the gateway agent cannot reach the database: ${(error as Error).message.slice(0, 200)}`);
      }
    }
    const dropRole = async (): Promise<void> => {
      if (!ephemeral) return;
      await state.roles.drop(ephemeral.name).catch((error: unknown) => {
        log.error({ err: error, role: ephemeral.name }, 'dropping the ephemeral role failed; retried until it succeeds');
      });
    };

    let upstream;
    try {
      upstream = await openUpstream({
        host: resource.address.host,
        port: resource.address.port,
        user: upstreamUser,
        password: upstreamPassword,
        database: options.database,
        params: filtered.params,
        tls: state.tls,
      });
    } catch (error) {
      await dropRole();
      if (error instanceof UpstreamError) return refuse(stream, error.code, error.message);
      throw error;
    }
    if (stream.destroyed) {
      upstream.socket.destroy();
      await dropRole();
      return;
    }

    let userFunctions: ReadonlySet<string>;
    let userCodeViews: ReadonlySet<string>;
    let safeUserTypes: ReadonlySet<string>;
    let userRowFunctions: ReadonlySet<string>;
    try {
      [userFunctions, userCodeViews, safeUserTypes, userRowFunctions] = await Promise.all([
        loadUserFunctionNames(state.admin),
        loadUserCodeViewNames(state.admin),
        loadSafeUserTypes(state.admin),
        loadUserRowFunctionNames(state.admin),
      ]);
    } catch (error) {
      upstream.socket.destroy();
      await dropRole();
      log.warn({ err: error }, 'reading the function catalogue failed');
      return refuse(stream, '08006', 'the gateway could not read the function catalogue of the database');
    }

    const recorder = this.o.shipper.session(grant.sid);
    recorder.record('pg.session', {
      principal: recordedPrincipal(grant.principal),
      resource: resource.name,
      role: grant.login,
      upstreamUser,
      mode: options.mode,
      database: options.database,
      declared: { applicationName: startup.parameters.get('application_name') ?? header.client.applicationName ?? null },
      // The run-time settings the session starts with (startup parameters and `options`), as forwarded.
      settings: Object.fromEntries(filtered.params),
      sourceIp: header.client.address ?? null,
    });
    stream.write(Buffer.concat([authenticationOk(), ...upstream.startupReplies]));

    const timers: { expiry?: NodeJS.Timeout } = {};
    const session = new PgSession({
      client: stream,
      ...('id' in stream && typeof stream.id === 'number' ? { traceId: stream.id } : {}),
      frontend,
      upstream: upstream.socket,
      backend: upstream.parser,
      upstreamAddress: resource.address,
      upstreamKey: upstream.key,
      policy: this.o.policy,
      policyContext: { ...policyContext, userFunctions, userCodeViews, safeUserTypes, userRowFunctions },
      catalog: new ColumnCatalog(state.admin),
      maskingKey: state.maskingKey,
      recorder,
      sampleRows: options.sampleRows,
      log,
      ...(this.o.requestApproval ? { holdForApproval: holdThrough(this.o.requestApproval, grant.sid, 'statement') } : {}),
      ...(this.o.signalSession ? { signalBackend: signalBackendOf(this.o.signalSession, grant.sid) } : {}),
      onEnd: (reason, bytes) => {
        clearTimeout(timers.expiry);
        this.sessions.delete(grant.sid);
        recorder.record('pg.end', { reason, bytesIn: bytes.in, bytesOut: bytes.out });
        void dropRole();
      },
    });
    this.sessions.set(grant.sid, session);
    timers.expiry = setTimeout(() => session.terminate('57P01', 'session expired'), msUntilExpiry(grant.sessionExpiresAt));
    timers.expiry.unref();
  }
}

/** AuthenticationOk: the control plane already authenticated the client; the agent confirms the login. */
function authenticationOk(): Buffer {
  return Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
}

/** Writes one FATAL ErrorResponse and ends the stream (the contract for a session that cannot open). */
function refuse(stream: ChannelSocket, code: string, message: string): void {
  if (stream.destroyed || stream.writableEnded) return;
  stream.end(errorResponse({ severity: 'FATAL', code, message: message.slice(0, 1000) }));
}

/**
 * Failures to reach or trust the database (network, TLS) as opposed to the database refusing
 * something: the client gets 08001 for these, like libpq's own connection errors.
 */
function isConnectionFailure(error: unknown): boolean {
  // Restarting, shutting down, out of slots: the client may retry (08001), not a refused role (28000).
  if (isTransientDatabaseError(error)) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (/^(ECONN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_)/.test(code)) return true;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) return true;
  return /does not support SSL|Connection terminated/i.test((error as Error | undefined)?.message ?? '');
}
