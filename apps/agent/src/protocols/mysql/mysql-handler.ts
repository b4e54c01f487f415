import type { ChannelSocket } from '@gw/tunnel';
import type { TLSSocket } from 'node:tls';
import { createPool, type Pool } from 'mysql2/promise';
import { MAX_MYSQL_START_FRAME, type MysqlSessionStart } from '@gw/contracts';
import { encodeErr, encodeOk, packet } from '@gw/protocol-mysql';
import { MysqlClassifier } from '@gw/sql-mysql';
import type { AgentResource } from '../../config/agent-config.js';
import type { ProtocolHandler, ProtocolOpenContext } from '../../handlers/protocol-handler.js';
import { holdThrough } from '../../approvals/approval-client.js';
import { acceptStream, closeResourceStates, msUntilExpiry, policyResource, recordedPrincipal, type DatabaseHandlerOptions } from '../database/database-handler.js';
import { loadMaskingKey } from '../postgres/masking-key.js';
import { StatementGate } from '../postgres/statement-gate.js';
import { principalFromGrant } from '../postgres/statement-policy.js';
import { StatementRecording } from '../postgres/statement-recording.js';
import { EphemeralUsers, UserRefusedError, type EphemeralUser } from './ephemeral-users.js';
import { DEFAULT_MYSQL_OPTIONS, mysql2TlsOptions, mysqlUpstreamTls, tlsFailure, type MysqlOptions } from './mysql-config.js';
import type { UpstreamTls } from '../postgres/upstream-tls.js';
import { MysqlSessionCore, type KillOutcome } from './mysql-session-core.js';
import { startRefusal } from './session-start.js';
import { loadUserFunctionNames, loadViews } from './user-code.js';
import type { ViewLineage } from '../postgres/view-masking.js';
import { UpstreamLoginError, loginUpstream, type UpstreamSession } from './upstream-login.js';

const START_TIMEOUT_MS = 15_000;

interface ResourceState {
  admin: Pool;
  tls: UpstreamTls;
  users: EphemeralUsers;
  maskingKey: Buffer;
}


interface UserCode {
  userFunctions: ReadonlySet<string>;
  userCodeViews: ReadonlySet<string>;
  views: ReadonlyMap<string, ViewLineage>;
}

/** A live session, as KILL from another session of the same principal finds it. */
interface LiveSession {
  sessionId: string;
  principalId: string;
  resource: string;
  threadId: number;
  admin: Pool;
  terminate(message: string): void;
}

/**
 * Serves `mysql` streams: reads the start frame the control plane sends, logs in upstream itself
 * (ephemeral user or fixed credentials), answers the client's login, then runs a MysqlSessionCore
 * between the stream and the database.
 */
export class MysqlHandler implements ProtocolHandler {
  readonly type = 'mysql' as const;
  private readonly resources = new Map<string, Promise<ResourceState>>();
  private readonly live = new Map<number, LiveSession>();
  private readonly classifier = new MysqlClassifier();
  /** Session users being dropped: close() waits for them before it ends the admin pools. */
  private readonly drops = new Set<Promise<void>>();

  constructor(private readonly o: DatabaseHandlerOptions) {}

  /** What the session's statements may run without showing it (stored functions, views that call them), and what is behind views. */
  private async loadUserCode(admin: Pool): Promise<UserCode> {
    const userFunctions = await loadUserFunctionNames(admin);
    return { userFunctions, ...(await loadViews(admin, this.classifier, userFunctions)) };
  }

  get openSessions(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    for (const s of this.live.values()) s.terminate('the gateway agent is shutting down');
    await Promise.allSettled([...this.drops]);
    await closeResourceStates(this.resources, (r) => r.admin.end().catch(() => undefined));
  }

  open(ctx: ProtocolOpenContext): void {
    const stream = acceptStream(ctx, () => ctx.acceptSocket());
    if (!stream) return;
    readStart(stream)
      .then((start) => this.serve(ctx, stream, start.start, start.rest))
      .catch((error: unknown) => {
        ctx.log.warn({ err: error }, 'mysql session failed to open');
        refuse(stream, 1, 1105, `the gateway agent failed to open the session: ${(error as Error).message.slice(0, 200)}`);
      });
  }

  private resourceState(resource: AgentResource): Promise<ResourceState> {
    let state = this.resources.get(resource.name);
    if (!state) {
      const options: MysqlOptions = resource.mysql ?? DEFAULT_MYSQL_OPTIONS;
      // A bad tls.caFile throws here, for every session, with its name (nothing is cached).
      const tls = mysqlUpstreamTls(options.tls, resource.address.host);
      const admin = createPool({
        host: resource.address.host,
        port: resource.address.port,
        user: resource.credentials?.['user']?.reveal(),
        password: resource.credentials?.['password']?.reveal() ?? '',
        connectionLimit: 2,
        multipleStatements: false,
        ...mysql2TlsOptions(options.tls, tls, resource.address),
      });
      state = Promise.resolve({
        admin,
        tls,
        users: new EphemeralUsers(admin, () => this.o.agentId() ?? 'unknown', options.ephemeralHost),
        maskingKey: loadMaskingKey(resource.mysql?.maskingKey?.reveal(), this.o.spoolDir),
      });
      this.resources.set(resource.name, state);
    }
    return state;
  }

  private async serve(ctx: ProtocolOpenContext, stream: ChannelSocket, start: MysqlSessionStart, rest: Buffer): Promise<void> {
    const { grant, resource, header, log } = ctx;
    const options: MysqlOptions = resource.mysql ?? DEFAULT_MYSQL_OPTIONS;
    const seq = start.loginSeq;
    const recorder = this.o.shipper.session(grant.sid);
    if (!resource.credentials?.['user']) return refuse(stream, seq, 1105, `resource ${resource.name} has no credentials.user configured on the agent`);
    const refusal = startRefusal(start, this.classifier);
    if (refusal) {
      recorder.record('mysql.refused', { user: grant.login, mode: options.mode, code: refusal.code, reason: refusal.message });
      return refuse(stream, seq, refusal.code, refusal.message);
    }
    const state = await this.resourceState(resource);
    const refuseUser = (message: string): void => {
      recorder.record('mysql.refused', { user: grant.login, mode: options.mode, code: 1045, reason: message });
      refuse(stream, seq, 1045, message);
    };
    let ephemeral: EphemeralUser | undefined;
    let user: string;
    let password: string;
    if (options.mode === 'ephemeral') {
      try {
        ephemeral = await state.users.create(grant.login, new Set(options.privilegedRoles));
      } catch (error) {
        if (error instanceof UserRefusedError) return refuseUser(error.message);
        const tls = tlsFailure(error);
        if (tls) return refuse(stream, seq, 2026, tls);
        log.warn({ err: error }, 'creating the ephemeral user failed');
        return refuse(stream, seq, 1105, `the gateway could not create a session user for "${grant.login}": ${(error as Error).message.slice(0, 200)}`);
      }
      user = ephemeral.name;
      password = ephemeral.password;
    } else {
      user = resource.credentials['user'].reveal();
      password = resource.credentials['password']?.reveal() ?? '';
      if (grant.login !== user) {
        return refuseUser(`resource ${resource.name} logs every session in as "${user}" (mysql.mode: fixed); ask for that user, not "${grant.login}"`);
      }
    }
    const dropUser = async (): Promise<void> => {
      if (!ephemeral) return;
      const user = ephemeral;
      ephemeral = undefined;
      const drop = state.users.drop(user).catch((error: unknown) => log.error({ err: error, user: user.name }, 'dropping the ephemeral user failed; the next sweep retries'));
      this.drops.add(drop);
      await drop;
      this.drops.delete(drop);
    };

    let upstream: UpstreamSession;
    let userCode: UserCode;
    try {
      [upstream, userCode] = await Promise.all([
        loginUpstream({
          host: resource.address.host, port: resource.address.port, user, password, schema: start.schema, capabilities: start.capabilities, charset: start.charset, attributes: start.attributes,
          tls: state.tls,
        }),
        this.loadUserCode(state.admin),
      ]);
    } catch (error) {
      await dropUser();
      if (error instanceof UpstreamLoginError) return refuse(stream, seq, error.code, error.message);
      const tls = tlsFailure(error);
      if (tls) return refuse(stream, seq, 2026, tls);
      throw error;
    }
    if (stream.destroyed) {
      upstream.socket.destroy();
      return dropUser();
    }

    recorder.record('mysql.session', {
      principal: recordedPrincipal(grant.principal),
      resource: resource.name,
      user: grant.login,
      upstreamUser: user,
      mode: options.mode,
      schema: start.schema,
      server: upstream.handshake.serverVersion,
      // The TLS version of the agent's connection to the database, or null without TLS.
      tls: 'getProtocol' in upstream.socket ? (upstream.socket as TLSSocket).getProtocol() : null,
      declared: { programName: start.attributes['program_name'] ?? null, client: start.attributes['_client_name'] ?? null },
      sourceIp: header.client.address ?? null,
    });

    const lifetime = new AbortController();
    const gate = new StatementGate(
      this.o.policy,
      {
        principal: principalFromGrant(grant.principal),
        resource: policyResource(resource, 'mysql'),
        dbRole: grant.login,
        sourceIp: header.client.address ?? '',
        ...userCode,
      },
      this.o.requestApproval ? holdThrough(this.o.requestApproval, grant.sid, 'statement') : undefined,
      lifetime.signal,
      'mysql',
    );
    const socket = upstream.socket;
    let ended = false;
    const bytes = { in: 0, out: 0 };
    const finish = (reason: string): void => {
      if (ended) return;
      ended = true;
      core.end();
      lifetime.abort(reason);
      clearTimeout(expiry);
      this.live.delete(start.connectionId);
      recorder.record('mysql.end', { reason, bytesIn: bytes.in, bytesOut: bytes.out });
      socket.destroy();
      if (!stream.destroyed) stream.end();
      void dropUser();
    };
    const core: MysqlSessionCore = new MysqlSessionCore({
      toClient: (b) => {
        bytes.out += b.length;
        const ok = stream.write(b);
        if (!ok) {
          socket.pause();
          stream.once('drain', () => socket.resume());
        }
        return ok;
      },
      toServer: (b) => {
        const ok = socket.write(b);
        if (!ok) {
          stream.pause();
          socket.once('drain', () => stream.resume());
        }
        return ok;
      },
      pauseClient: () => stream.pause(),
      resumeClient: () => stream.resume(),
      pauseServer: () => socket.pause(),
      resumeServer: () => socket.resume(),
      gate,
      classifier: this.classifier,
      recording: new StatementRecording(recorder, state.maskingKey, options.sampleRows, 'mysql.statement'),
      maskingKey: state.maskingKey,
      capabilities: start.capabilities,
      sampleRows: options.sampleRows,
      kill: (target) => this.kill(grant.sid, grant.principal.id, resource.name, target),
      fail: (reason) => {
        if (reason !== 'client quit') log.info({ reason }, 'mysql session ended');
        finish(reason);
      },
    });
    this.live.set(start.connectionId, {
      sessionId: grant.sid,
      principalId: grant.principal.id,
      resource: resource.name,
      threadId: upstream.threadId,
      admin: state.admin,
      terminate: (message) => {
        if (!stream.destroyed) stream.write(packet(encodeErr({ code: 1927, sqlState: '70100', message }), 0));
        finish(message);
      },
    });
    const expiry = setTimeout(() => this.live.get(start.connectionId)?.terminate('session expired'), msUntilExpiry(grant.sessionExpiresAt));
    expiry.unref();

    stream.write(packet(encodeOk(), seq));
    socket.on('data', (chunk: Buffer) => {
      bytes.out += 0;
      core.serverBytes(chunk);
    });
    socket.on('error', (error) => finish(`database connection error: ${error.message}`));
    socket.on('close', () => finish('database closed the connection'));
    stream.on('data', (chunk: Buffer) => {
      bytes.in += chunk.length;
      core.clientBytes(chunk);
    });
    stream.on('end', () => finish('client closed'));
    stream.on('close', () => finish('client closed'));
    if (upstream.rest.length > 0) core.serverBytes(upstream.rest);
    if (rest.length > 0) core.clientBytes(rest);
    socket.resume();
    stream.resume();
  }

  /**
   * `KILL [QUERY] <id>` where the id is the gateway's connection id of another session of the same
   * principal (`mysql`'s Ctrl-C sends it on a second connection, often through another replica or
   * agent). A session this agent serves is killed here with the agent's own credentials; any other
   * is resolved by the control plane, which checks the principal and tells the agent that serves it
   * (see killQuery). Sessions of others are refused.
   */
  private async kill(sessionId: string, principalId: string, resource: string, target: { query: boolean; connectionId: number }): Promise<KillOutcome> {
    const unknown: KillOutcome = { ok: false, code: 1094, message: `Unknown thread id: ${target.connectionId}` };
    const notOwner: KillOutcome = { ok: false, code: 1095, message: `You are not owner of thread ${target.connectionId}` };
    const victim = this.live.get(target.connectionId);
    if (victim && victim.resource === resource) {
      if (victim.principalId !== principalId) return notOwner;
      if (!target.query) {
        victim.terminate('connection killed by its owner');
        return { ok: true };
      }
      await victim.admin.query(`KILL QUERY ${victim.threadId}`);
      return { ok: true };
    }
    // Gateway connection ids are positive 31-bit numbers: anything else names no session anywhere.
    if (!this.o.signalSession || !Number.isInteger(target.connectionId) || target.connectionId < 1 || target.connectionId > 2 ** 31 - 1) return unknown;
    const ack = await this.o.signalSession({ sessionId, clientKey: target.connectionId, action: target.query ? 'cancel' : 'terminate' });
    if (!ack.ok) throw new Error(ack.error);
    switch (ack.outcome) {
      case 'signalled':
        return { ok: true };
      case 'not-owner':
        return notOwner;
      case 'unknown':
        return unknown;
    }
  }

  /** The control plane relays a `KILL QUERY` it checked (same principal) for a session served here. */
  killQuery(sessionId: string): void {
    const victim = [...this.live.values()].find((s) => s.sessionId === sessionId);
    victim?.admin.query(`KILL QUERY ${victim.threadId}`).catch((error: unknown) => this.o.log.warn({ err: error, sessionId }, 'KILL QUERY failed'));
  }
}

/** The control plane's start frame, then whatever client bytes followed it. */
function readStart(stream: ChannelSocket): Promise<{ start: MysqlSessionStart; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('no start frame from the control plane')), START_TIMEOUT_MS);
    const done = (error?: Error, value?: { start: MysqlSessionStart; rest: Buffer }): void => {
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.pause();
      if (error) reject(error);
      else resolve(value!);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const length = buffered.readUInt32BE(0);
      if (length > MAX_MYSQL_START_FRAME) return done(new Error('start frame too large'));
      if (buffered.length < 4 + length) return;
      try {
        const start = JSON.parse(buffered.subarray(4, 4 + length).toString('utf8')) as MysqlSessionStart;
        if (typeof start.dbUser !== 'string' || typeof start.capabilities !== 'number' || typeof start.loginSeq !== 'number' || typeof start.connectionId !== 'number') {
          return done(new Error('malformed start frame'));
        }
        done(undefined, { start, rest: buffered.subarray(4 + length) });
      } catch {
        done(new Error('malformed start frame'));
      }
    };
    stream.on('data', onData);
  });
}

/** One ERR packet (the login's answer) and the end of the stream. */
function refuse(stream: ChannelSocket, seq: number, code: number, message: string): void {
  if (stream.destroyed || stream.writableEnded) return;
  const sqlState = code === 1045 ? '28000' : 'HY000';
  stream.end(packet(encodeErr({ code, sqlState, message: message.slice(0, 1000) }), seq));
}
