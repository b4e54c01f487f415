import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import {
  AGENT_EVENTS,
  AGENT_NAMESPACE,
  MAX_AGENT_MESSAGE_BYTES,
  RECORDING_BATCHES_EVENT,
  RECORDING_EVENT,
  heartbeatSchema,
  helloSchema,
  recordingBatchSchema,
  recordingBatchesSchema,
  type HelloAck,
  type RecordingAck,
  type RecordingBatch,
  type RecordingBatchesAck,
  type ReplicaAddress,
  type ReplicasAnswer,
} from '@gw/contracts';
import { ReplicaDirectory } from '../replicas/replica-directory.js';
import { ThisReplica } from '../replicas/this-replica.js';
import { RecordingsService } from '../sessions/recordings.service.js';
import { SocketIoTunnelLink, rawEventParser } from '@gw/tunnel';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { AuditService } from '../audit/audit.service.js';
import { ActivePolicyService } from '../policies/active-policy.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { AgentAuthenticator, AgentAuthError } from './agent-authenticator.js';
import { AgentRegistry, type ConnectedAgent } from './agent-registry.js';
import { GrantSigner } from './grant-signer.service.js';
import { AgentApprovals } from './agent-approvals.service.js';
import { HeartbeatBatcher } from './heartbeat-batcher.js';
import { AdmissionGate } from './admission-gate.js';
import { AgentToolPins } from './agent-tool-pins.service.js';
import { SessionSignals } from './session-signals.service.js';
import type { AgentEntity } from '../agents/agent.entity.js';

/** Missing this many heartbeats marks an agent's resources offline. */
const MISSED_HEARTBEATS = 3;
const HELLO_TIMEOUT_MS = 10_000;

/**
 * The socket.io server on `/agents`: authenticates agents, records their resources, carries one
 * tunnel per agent connection, pushes policy activations and disconnects revoked agents.
 */
@Injectable()
export class AgentHub implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = loggerFor(AgentHub);
  private io?: Server;
  private sweeper?: NodeJS.Timeout;
  private heartbeats?: HeartbeatBatcher;
  private setups?: AdmissionGate;
  private shuttingDown = false;

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(AgentAuthenticator) private readonly authenticator: AgentAuthenticator,
    @Inject(AgentRegistry) private readonly registry: AgentRegistry,
    @Inject(ResourcesService) private readonly resources: ResourcesService,
    @Inject(GrantSigner) private readonly grants: GrantSigner,
    @Inject(ActivePolicyService) private readonly policy: ActivePolicyService,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(RecordingsService) private readonly recordings: RecordingsService,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
    @Inject(ReplicaDirectory) private readonly replicas: ReplicaDirectory,
    @Inject(ThisReplica) private readonly replica: ThisReplica,
    @Inject(AgentApprovals) private readonly agentApprovals: AgentApprovals,
    @Inject(AgentToolPins) private readonly agentToolPins: AgentToolPins,
    @Inject(SessionSignals) private readonly sessionSignals: SessionSignals,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    this.io = new Server(server, {
      transports: ['websocket'],
      // Frame batches (`fs`) go as one raw WebSocket message instead of socket.io's header + attachment.
      parser: rawEventParser(AGENT_EVENTS.frames),
      maxHttpBufferSize: MAX_AGENT_MESSAGE_BYTES,
      // Other upgrade paths (the client connect endpoint) are handled by their own listeners.
      destroyUpgrade: false,
      serveClient: false,
      pingInterval: 10_000,
      pingTimeout: 10_000,
    });
    const nsp = this.io.of(AGENT_NAMESPACE);
    const setups = (this.setups = new AdmissionGate(this.config.agents.maxConcurrentSetups));
    nsp.use((socket, next) => {
      if (this.shuttingDown) return next(new Error('control plane shutting down'));
      const release = setups.tryEnter();
      if (!release) return next(new Error('control plane busy: too many agents connecting at once; retry after a backoff'));
      this.authenticator.authenticate(socket.handshake.auth).then(
        ({ agent, version }) => {
          // Held until the hello is answered (or the socket goes): see onConnection.
          socket.data = { agent, version, releaseSetup: release };
          socket.once('disconnect', release);
          next();
        },
        (error: unknown) => {
          release();
          const message = error instanceof AgentAuthError ? error.message : 'agent authentication failed';
          if (!(error instanceof AgentAuthError)) this.log.error({ err: error }, 'agent authentication error');
          this.log.warn({ address: socket.handshake.address, reason: message }, 'agent refused');
          next(new Error(message));
        },
      );
    });
    nsp.on('connection', (socket) => this.onConnection(socket));
    // Nothing is served on the default namespace.
    this.io.of('/').use((_socket, next) => next(new Error('unknown namespace')));

    this.redisChannels.listen(channels(this.config.redis.prefix).agentRevoked, (agentId) => this.disconnectAgent(agentId, 'agent credential revoked'));
    this.policy.onActivation((snapshot) => nsp.emit(AGENT_EVENTS.policy, snapshot));

    const interval = this.config.agents.heartbeatIntervalMs;
    const staleAfter = interval * MISSED_HEARTBEATS;
    // Flushed several times per heartbeat interval: a beat reaches the database well before it is missed.
    this.heartbeats = new HeartbeatBatcher(
      (ids) => this.resources.heartbeatMany(ids),
      Math.max(100, Math.floor(interval / 5)),
      (err) => this.log.warn({ err }, 'heartbeat update failed; written with the next flush'),
    );
    this.sweeper = setInterval(() => {
      this.resources.sweepStale(staleAfter).catch((err: unknown) => this.log.warn({ err }, 'stale sweep failed'));
    }, interval);
    this.sweeper.unref();
  }

  /**
   * Before Nest closes the HTTP server (which waits for every open connection): refuse new agents
   * and drop the connected ones; they reconnect to whichever replica is up.
   */
  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.heartbeats?.stop();
    for (const agent of this.registry.all()) agent.tunnel.close('control plane shutting down');
    this.io?.disconnectSockets(true);
    this.io?.engine.close();
  }

  private onConnection(socket: Socket): void {
    const { agent, version, releaseSetup } = socket.data as { agent: AgentEntity; version?: string; releaseSetup?: () => void };
    const log = this.log.child({ agentId: agent.id, agentName: agent.name, socketId: socket.id });
    const helloTimer = setTimeout(() => {
      log.warn('no hello within the deadline; disconnecting');
      socket.disconnect(true);
    }, HELLO_TIMEOUT_MS);

    socket.once(AGENT_EVENTS.hello, (raw: unknown, ack?: (a: HelloAck) => void) => {
      clearTimeout(helloTimer);
      const reply = typeof ack === 'function' ? ack : () => undefined;
      const hello = helloSchema.safeParse(raw);
      if (!hello.success) {
        reply({ ok: false, error: `invalid hello: ${hello.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
        socket.disconnect(true);
        return;
      }
      // Agents that announce it get the frames of one event-loop turn as one `fs` message.
      const link = new SocketIoTunnelLink(socket, {
        role: 'control-plane',
        events: { frame: AGENT_EVENTS.frame, frames: AGENT_EVENTS.frames },
        batches: hello.data.frameBatches === true,
        onClose: (err) => {
          log.info({ reason: err.reason }, 'tunnel closed');
          if (socket.connected) socket.disconnect(true);
        },
        onViolation: (kind, streamId, detail) => log.warn({ kind, streamId, detail }, 'tunnel protocol violation by agent'),
      });
      const tunnel = link.endpoint;
      const connected: ConnectedAgent = {
        agentId: agent.id,
        agentName: agent.name,
        socket,
        tunnel,
        resources: new Map(hello.data.resources.map((r) => [r.name, r])),
        connectedAt: new Date(),
      };
      socket.on(AGENT_EVENTS.heartbeat, (hb: unknown) => {
        if (!heartbeatSchema.safeParse(hb).success) return;
        this.heartbeats?.mark(agent.id);
      });
      // Recordings: one session's batch on `rec` (older agents), several sessions' on `recs`; one store path.
      const storeRecordings = (batches: RecordingBatch[]): Promise<RecordingBatchesAck> =>
        this.recordings.storeMany(agent.id, batches).then(
          (results) => ({ ok: true, results }),
          (err: unknown) => {
            log.error({ err, sessionIds: batches.map((b) => b.sessionId) }, 'storing recordings failed');
            return { ok: false, error: 'control plane could not store the recording', retry: true };
          },
        );
      socket.on(RECORDING_EVENT, (raw: unknown, ack?: (a: RecordingAck) => void) => {
        const reply = typeof ack === 'function' ? ack : () => undefined;
        const batch = recordingBatchSchema.safeParse(raw);
        if (!batch.success) {
          reply({ ok: false, error: `invalid recording batch: ${batch.error.issues[0]?.message ?? 'bad shape'}`, retry: false });
          return;
        }
        void storeRecordings([batch.data]).then((stored) => reply(stored.ok ? stored.results[0]! : stored));
      });
      socket.on(RECORDING_BATCHES_EVENT, (raw: unknown, ack?: (a: RecordingBatchesAck) => void) => {
        const reply = typeof ack === 'function' ? ack : () => undefined;
        const message = recordingBatchesSchema.safeParse(raw);
        if (!message.success) {
          reply({ ok: false, error: `invalid recording batches: ${message.error.issues[0]?.message ?? 'bad shape'}`, retry: false });
          return;
        }
        void storeRecordings(message.data.batches).then(reply);
      });
      // Agents keep a tunnel to every replica (see ReplicaDirectory): this is where they ask which.
      socket.on(AGENT_EVENTS.replicas, (_payload: unknown, ack?: (a: ReplicasAnswer) => void) => {
        if (typeof ack !== 'function') return;
        this.replicaList().then(
          (replicas) => ack({ ok: true, replicaId: this.replica.id, replicas }),
          () => ack({ ok: false, error: 'control plane could not list its replicas; ask again later' }),
        );
      });
      this.agentApprovals.attach(socket, agent.id);
      this.agentToolPins.attach(socket, agent.id);
      this.sessionSignals.attach(socket, agent.id);
      this.registry.add(connected);
      this.resources
        .declare(agent.id, hello.data.resources, hello.data.version)
        .then(() => this.audit.append({ action: 'agent.connected', outcome: 'success', actor: { id: `agent:${agent.id}`, kind: 'agent', name: agent.name }, resource: `agent:${agent.name}`, details: { version: hello.data.version ?? version, resources: hello.data.resources.map((r) => r.name), address: socket.handshake.address } }))
        .then(() => this.replicaList())
        .then((replicas) => {
          reply({
            ok: true,
            agentId: agent.id,
            agentName: agent.name,
            grantPublicKey: this.grants.publicJwk,
            policy: this.policy.snapshot ?? null,
            heartbeatIntervalMs: this.config.agents.heartbeatIntervalMs,
            frameBatches: true,
            recordingBatches: true,
            replicaId: this.replica.id,
            replicas,
          });
          log.info({ resources: hello.data.resources.length }, 'agent online');
        })
        .catch((err: unknown) => {
          log.error({ err }, 'recording agent resources failed');
          reply({ ok: false, error: 'control plane could not record the agent; retry later' });
          socket.disconnect(true);
        })
        .finally(() => releaseSetup?.());
    });

    socket.on('disconnect', (reason) => {
      clearTimeout(helloTimer);
      const gone = this.registry.remove(socket.id);
      if (!gone) return;
      gone.tunnel.close(`agent disconnected: ${reason}`);
      log.info({ reason }, 'agent offline');
      if (!this.registry.isOnline(agent.id)) {
        this.resources.markAgentOffline(agent.id).catch((err: unknown) => log.warn({ err }, 'mark offline failed'));
      }
    });
  }

  /** Never fails the hello: without the list an agent still works through this replica. */
  private async replicaList(): Promise<ReplicaAddress[]> {
    return this.replicas.live().catch((err: unknown) => {
      this.log.warn({ err }, 'could not list the replicas for an agent');
      return [];
    });
  }

  private disconnectAgent(agentId: string, reason: string): void {
    for (const connected of this.registry.connectionsOf(agentId)) {
      this.log.info({ agentId, reason }, 'disconnecting agent');
      connected.socket.emit(AGENT_EVENTS.revoked, { reason });
      connected.tunnel.close(reason);
      connected.socket.disconnect(true);
    }
  }
}
