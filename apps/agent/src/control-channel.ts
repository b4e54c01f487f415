import { AGENT_EVENTS, AGENT_NAMESPACE, type AgentHeartbeat, type AgentHello, type HelloAck, type PolicySnapshotMessage, type ReplicaAddress } from '@gw/contracts';
import { SocketIoTunnelLink, rawEventParser, type SessionGrantVerifier, type StreamHandler, type TunnelStats } from '@gw/tunnel';
import type { Logger } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { GrantVerifierCache } from './tunnel/grant-verifiers.js';

const HELLO_TIMEOUT_MS = 10_000;
const MIN_HEARTBEAT_MS = 1_000;
const MAX_HEARTBEAT_MS = 300_000;
const MAX_POLICY_TEXT = 4 * 1024 * 1024;

export type HandshakeAuth = Record<string, unknown>;

export interface ControlChannelOptions {
  url: string;
  /** Built for every connection attempt (a fresh OIDC token each time it is due). */
  handshake: () => Promise<HandshakeAuth>;
  hello: AgentHello;
  onStream: StreamHandler;
  openStreams: () => number;
  log: Logger;
  backoff?: BackoffOptions;
  /** Tunnel keepalive override (tests). */
  keepalive?: { intervalMs?: number; timeoutMs?: number } | false;
  onRevoked: (reason: string) => void;
  /** Shared by the agent's connections to several replicas (see GrantVerifierCache). */
  verifiers?: GrantVerifierCache;
}

export interface ChannelSession {
  agentId: string;
  agentName: string;
  verifier: SessionGrantVerifier;
  policy: PolicySnapshotMessage | null;
  /** The control plane takes recording batches of several sessions in one message (`recs`). */
  recordingBatches: boolean;
  /** The replica this connection reached, and the replicas it says to keep a tunnel to (older control planes: none). */
  replicaId: string | undefined;
  replicas: ReplicaAddress[];
}

/** Why the server refused the handshake. Revocation is final; everything else is retried. */
function isRevocation(error: Error & { data?: unknown }): boolean {
  const data = error.data as { code?: unknown } | undefined;
  const code = typeof data?.code === 'string' ? data.code.toLowerCase() : '';
  return code.includes('revoked') || /revoked/i.test(error.message);
}

function validPolicy(value: unknown): value is PolicySnapshotMessage {
  const p = value as Partial<PolicySnapshotMessage> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    Number.isInteger(p.version) &&
    typeof p.sha256 === 'string' &&
    typeof p.text === 'string' &&
    p.text.length <= MAX_POLICY_TEXT
  );
}

/**
 * The socket.io connection to the control plane: handshake, hello, heartbeats, policy updates and
 * one tunnel endpoint per connection. Transport drops are retried by socket.io itself; refusals by
 * the server (which socket.io does not retry) are retried here with the same capped backoff.
 */
export class ControlChannel {
  private readonly socket: Socket;
  /** The tunnel of the current connection; one `f` per frame until the hello ack says `fs` batches are taken. */
  private link: SocketIoTunnelLink | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private refusals = 0;
  private stopped = false;
  private current: ChannelSession | undefined;
  private ready = false;
  private readonly readyWaiters = new Set<() => void>();
  reconnects = 0;

  /** Kept across reconnections (and shared with the agent's other connections), so a replayed grant stays refused. */
  private readonly verifiers: GrantVerifierCache;

  constructor(private readonly options: ControlChannelOptions) {
    this.verifiers = options.verifiers ?? new GrantVerifierCache();
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    const base = options.url.replace(/\/+$/, '');
    this.socket = io(`${base}${AGENT_NAMESPACE}`, {
      transports: ['websocket'],
      // Frame batches (`fs`) go as one raw WebSocket message instead of socket.io's header + attachment.
      parser: rawEventParser(AGENT_EVENTS.frames),
      autoConnect: false,
      reconnectionDelay: backoff.initialMs,
      reconnectionDelayMax: backoff.maxMs,
      randomizationFactor: backoff.jitter,
      auth: (cb) => {
        options.handshake().then(cb, (error: unknown) => {
          // Without a token the server will refuse us, which lands in the retry path below.
          options.log.error({ err: error }, 'could not build the handshake');
          cb({});
        });
      },
    });
    this.wire();
  }

  start(): void {
    this.socket.connect();
  }

  get session(): ChannelSession | undefined {
    return this.current;
  }
  get connected(): boolean {
    return this.ready;
  }
  tunnelStats(): TunnelStats | undefined {
    return this.link?.endpoint.stats();
  }

  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(done);
        reject(new Error(`agent not connected to the control plane within ${timeoutMs} ms`));
      }, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  /** Emits with an ack; rejects when not registered or on timeout (recording batches). */
  async request<T>(event: string, payload: unknown, timeoutMs: number): Promise<T> {
    if (!this.ready) throw new Error('not connected to the control plane');
    return (await this.socket.timeout(timeoutMs).emitWithAck(event, payload)) as T;
  }

  /** Listens to a control-plane event (e.g. pg:cancel). */
  on(event: string, listener: (payload: unknown) => void): void {
    this.socket.on(event, listener);
  }

  /** Called each time the agent is registered (again) with the control plane. */
  onReady(listener: () => void): void {
    this.readyListeners.add(listener);
  }
  private readonly readyListeners = new Set<() => void>();

  /** Called each time the connection to the control plane is lost (or stopped). */
  onDisconnect(listener: (reason: string) => void): void {
    this.disconnectListeners.add(listener);
  }
  private readonly disconnectListeners = new Set<(reason: string) => void>();

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.teardown(reason);
    this.socket.disconnect();
  }

  private wire(): void {
    const { log } = this.options;
    const socket = this.socket;

    socket.on('connect', () => {
      log.info({ url: this.options.url }, 'connected to the control plane');
      this.openTunnel();
      void this.sayHello();
    });

    socket.on('connect_error', (error: Error & { data?: unknown }) => {
      if (this.stopped) return;
      if (isRevocation(error)) {
        log.error({ reason: error.message }, 'control plane refused the agent: credential revoked');
        this.options.onRevoked(error.message);
        return;
      }
      if (socket.active) {
        log.warn({ reason: error.message }, 'cannot reach the control plane; retrying');
        return;
      }
      // Refused by the server's middleware: socket.io will not retry this on its own.
      log.error({ reason: error.message, data: error.data }, 'control plane refused the connection');
      this.retryLater();
    });

    socket.on('disconnect', (reason) => {
      this.teardown(`socket disconnected: ${reason}`);
      if (this.stopped) return;
      log.warn({ reason }, 'disconnected from the control plane');
      this.reconnects += 1;
      // 'io server disconnect' (and our own disconnect after a tunnel failure) is not retried by socket.io.
      if (!socket.active) this.retryLater();
    });

    socket.on(AGENT_EVENTS.policy, (payload: unknown) => {
      if (!validPolicy(payload)) {
        log.warn('ignored a malformed policy message');
        return;
      }
      if (this.current) this.current.policy = payload;
      log.info({ version: payload.version, sha256: payload.sha256 }, 'policy updated');
    });

    socket.on(AGENT_EVENTS.revoked, (payload: unknown) => {
      const reason = typeof (payload as { reason?: unknown } | null)?.reason === 'string' ? (payload as { reason: string }).reason : 'credential revoked';
      log.error({ reason: reason.slice(0, 500) }, 'control plane revoked this agent');
      this.options.onRevoked(reason.slice(0, 500));
    });
  }

  private openTunnel(): void {
    this.link?.close('replaced by a new connection');
    const socket = this.socket;
    const link: SocketIoTunnelLink = new SocketIoTunnelLink(socket, {
      role: 'agent',
      events: { frame: AGENT_EVENTS.frame, frames: AGENT_EVENTS.frames },
      onStream: this.options.onStream,
      onClose: (error) => {
        if (this.link !== link) return;
        this.options.log.warn({ reason: error.reason }, 'tunnel closed');
        // A tunnel that died under a live socket (keepalive timeout, rogue peer) means the
        // connection is unusable: drop it and come back fresh.
        if (socket.connected && !this.stopped) {
          socket.disconnect();
        }
      },
      onViolation: (kind, streamId, detail) => this.options.log.warn({ kind, streamId, detail }, 'tunnel protocol violation by the control plane'),
      ...(this.options.keepalive !== undefined ? { keepalive: this.options.keepalive } : {}),
    });
    this.link = link;
  }

  private async sayHello(): Promise<void> {
    const { log } = this.options;
    let ack: HelloAck;
    try {
      ack = (await this.socket.timeout(HELLO_TIMEOUT_MS).emitWithAck(AGENT_EVENTS.hello, this.options.hello)) as HelloAck;
    } catch {
      if (!this.socket.connected) return;
      log.error('control plane did not acknowledge hello in time');
      this.socket.disconnect();
      return;
    }
    if (!ack || typeof ack !== 'object' || ack.ok !== true) {
      const reason = ack && ack.ok === false && typeof ack.error === 'string' ? ack.error : 'malformed hello ack';
      log.error({ reason }, 'control plane refused the hello');
      this.socket.disconnect();
      return;
    }
    let verifier: SessionGrantVerifier;
    try {
      verifier = this.verifiers.for(ack.agentId, ack.grantPublicKey);
    } catch (error) {
      log.error({ err: error }, 'control plane sent an unusable grant key');
      this.socket.disconnect();
      return;
    }
    this.current = {
      agentId: ack.agentId,
      agentName: ack.agentName,
      verifier,
      policy: validPolicy(ack.policy) ? ack.policy : (this.current?.policy ?? null),
      recordingBatches: ack.recordingBatches === true,
      replicaId: typeof ack.replicaId === 'string' ? ack.replicaId : undefined,
      replicas: Array.isArray(ack.replicas) ? ack.replicas : [],
    };
    if (ack.frameBatches === true) this.link?.enableBatches();
    this.refusals = 0;
    this.ready = true;
    for (const waiter of this.readyWaiters) waiter();
    this.readyWaiters.clear();
    for (const listener of this.readyListeners) listener();
    log.info({ agentId: ack.agentId, agentName: ack.agentName, policyVersion: this.current.policy?.version }, 'registered with the control plane');
    this.startHeartbeat(ack.heartbeatIntervalMs);
  }


  private startHeartbeat(intervalMs: number): void {
    clearInterval(this.heartbeat);
    const every = Number.isFinite(intervalMs) ? Math.min(Math.max(intervalMs, MIN_HEARTBEAT_MS), MAX_HEARTBEAT_MS) : 15_000;
    this.heartbeat = setInterval(() => {
      const beat: AgentHeartbeat = { openStreams: this.options.openStreams(), rssBytes: process.memoryUsage.rss() };
      this.socket.emit(AGENT_EVENTS.heartbeat, beat);
    }, every);
  }

  private teardown(reason: string): void {
    const wasReady = this.ready;
    this.ready = false;
    if (wasReady) for (const listener of this.disconnectListeners) listener(reason);
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const link = this.link;
    this.link = undefined;
    // Closing the endpoint destroys every stream, and the relays destroy their TCP sockets.
    link?.close(reason);
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = backoffDelay(this.refusals, this.options.backoff ?? DEFAULT_BACKOFF);
    this.refusals += 1;
    this.options.log.info({ delayMs: delay }, 'reconnecting after backoff');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.socket.connect();
    }, delay);
  }
}
