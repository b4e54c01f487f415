import { MCP_TOOL_PIN_EVENTS, PG_EVENTS, RECORDING_BATCHES_EVENT, RECORDING_EVENT, SESSION_SIGNAL_EVENTS, type AgentHello, type RecordingAck, type RecordingBatchesAck, type SessionSignalAck, type ToolPinCheckAck } from '@gw/contracts';
import { flushPendingFrameBatches, type TunnelStats } from '@gw/tunnel';
import type { Logger } from 'pino';
import type { BackoffOptions } from './backoff.js';
import { parseAgentConfig, type AgentConfig, type AgentResource, type ParseOptions } from './config/agent-config.js';
import { ControlChannel, type HandshakeAuth } from './control-channel.js';
import { ReplicaFanout } from './replica-fanout.js';
import { GrantVerifierCache } from './tunnel/grant-verifiers.js';
import type { ApprovalClient } from './approvals/approval-client.js';
import { handlerRegistry, type ProtocolHandler } from './handlers/protocol-handler.js';
import { createLogger } from './logger.js';
import { OidcTokenSource } from './oidc-token-source.js';
import { RecordingShipper } from './recording/recording-shipper.js';
import { loadWings } from './wings.js';
import { createStreamRouter, emptyCounters, type StreamCounters } from './tunnel/stream-router.js';
import { AGENT_VERSION } from './version.js';

export interface StartAgentOptions extends ParseOptions {
  logger?: Logger;
  /** Replaces the built-in handlers (tcp, postgres, ssh); tests and future protocols plug in here. */
  handlers?: readonly ProtocolHandler[];
  backoff?: BackoffOptions;
  keepalive?: { intervalMs?: number; timeoutMs?: number } | false;
}

export type AgentStopReason = { kind: 'closed' } | { kind: 'revoked'; reason: string };

export interface AgentStats extends StreamCounters {
  connected: boolean;
  agentId: string | undefined;
  policyVersion: number | undefined;
  reconnects: number;
  tunnel: TunnelStats | undefined;
  /** Tunnels to the other control plane replicas (see ReplicaFanout). */
  otherReplicas: { total: number; ready: number };
}

export interface AgentHandle {
  agentId(): string | undefined;
  connected(): boolean;
  waitConnected(timeoutMs?: number): Promise<void>;
  stats(): AgentStats;
  /** Settles when the agent stops for good: close() or a revoked credential. */
  readonly stopped: Promise<AgentStopReason>;
  close(): Promise<void>;
}

export function helloFor(resources: readonly AgentResource[]): AgentHello {
  return {
    version: AGENT_VERSION,
    frameBatches: true,
    // Only what the control plane may know: never the address or credentials.
    resources: resources.map((r) => ({
      name: r.name,
      type: r.type,
      labels: r.labels,
      ...(r.environment !== undefined ? { environment: r.environment } : {}),
    })),
  };
}

function handshakeFor(config: AgentConfig): () => Promise<HandshakeAuth> {
  const auth = config.auth;
  if ('credential' in auth) {
    return () => Promise.resolve({ credential: auth.credential.reveal(), version: AGENT_VERSION });
  }
  const tokens = new OidcTokenSource({
    tokenUrl: auth.oidc.tokenUrl,
    clientId: auth.oidc.clientId,
    clientSecret: auth.oidc.clientSecret,
    resource: auth.oidc.resource,
  });
  return async () => ({ token: await tokens.get(), agentName: auth.agentName, version: AGENT_VERSION });
}

/** Starts an agent in this process. Resolves once connecting has begun, not once connected. */
export async function startAgent(configInput: AgentConfig | string, options: StartAgentOptions = {}): Promise<AgentHandle> {
  const config = typeof configInput === 'string' ? parseAgentConfig(configInput, options) : configInput;
  const log = options.logger ?? createLogger(config.logLevel);
  const counters = emptyCounters();
  const catalogue = new Map(config.resources.map((r) => [r.name, r]));
  // eslint-disable-next-line prefer-const -- the channel needs the handlers, the handlers need the channel
  let channel: ControlChannel;
  const shipper = new RecordingShipper({
    spoolDir: config.spoolDir,
    flushIntervalMs: config.recording.flushIntervalMs,
    durability: config.recording.durability,
    // Answers a journal flush let go are sent to the control plane at once, not one event-loop turn later.
    afterRelease: flushPendingFrameBatches,
    shipDelayMs: config.recording.shipDelayMs,
    log,
    send: (batch) => channel.request<RecordingAck>(RECORDING_EVENT, batch, 15_000),
    sendMany: () =>
      channel.session?.recordingBatches
        ? async (batches) => {
            const ack = await channel.request<RecordingBatchesAck>(RECORDING_BATCHES_EVENT, { batches }, 15_000);
            if (!ack.ok) return batches.map(() => ({ ok: false as const, error: ack.error, retry: ack.retry }));
            if (!Array.isArray(ack.results) || ack.results.length !== batches.length) throw new Error('control plane answered recording batches with a malformed ack');
            return ack.results;
          }
        : undefined,
  });
  // Made once the channel exists, by agents whose wings hold statements or commands for approval.
  let approvals: ApprovalClient | undefined;
  const wings = await loadWings(options.handlers ? [] : config.resources, {
    shipper,
    spoolDir: config.spoolDir,
    log,
    agentId: () => channel.session?.agentId,
    policySnapshot: () => channel.session?.policy,
    requestApproval: (request, hooks) => {
      if (!approvals) throw new Error('this agent has no approval client');
      return approvals.requestApproval(request, hooks);
    },
    durableApprovals: {
      create: (request) => (approvals ? approvals.durable.create(request) : Promise.resolve({ error: 'this agent has no approval client' })),
      consume: (message) => (approvals ? approvals.durable.consume(message) : Promise.resolve({ ok: false, error: 'this agent has no approval client' })),
    },
    checkToolPins: (check) => channel.request<ToolPinCheckAck>(MCP_TOOL_PIN_EVENTS.check, check, 10_000),
    signalSession: (signal) => channel.request<SessionSignalAck>(SESSION_SIGNAL_EVENTS.signal, signal, 10_000),
  });
  const { postgres, ssh, kubernetes, mysql, mcp } = wings;
  const handlers = handlerRegistry(options.handlers ?? wings.handlers);

  let resolveStopped!: (reason: AgentStopReason) => void;
  const stopped = new Promise<AgentStopReason>((resolve) => (resolveStopped = resolve));

  const verifiers = new GrantVerifierCache();
  const handshake = handshakeFor(config);
  const hello = helloFor(config.resources);
  let fanout: ReplicaFanout | undefined;
  /** A connection to the control plane: the configured URL, or one replica's own address. */
  const connectTo = (url: string, connectionLog: Logger): ControlChannel => {
    // Streams are verified with the key of the replica whose tunnel they came through.
    const onStream = createStreamRouter({ catalogue, handlers, counters, log, verifier: () => c.session?.verifier });
    const c: ControlChannel = new ControlChannel({
      url,
      handshake,
      hello,
      onStream,
      openStreams: () => counters.openStreams,
      log: connectionLog,
      verifiers,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.keepalive !== undefined ? { keepalive: options.keepalive } : {}),
      onRevoked: (reason) => {
        fanout?.stop(`revoked: ${reason}`);
        channel.stop(`revoked: ${reason}`);
        resolveStopped({ kind: 'revoked', reason });
      },
    });
    // A cancel comes from whichever replica holds the client's session.
    c.on(PG_EVENTS.cancel, (payload) => {
      const sessionId = (payload as { sessionId?: unknown } | null)?.sessionId;
      if (typeof sessionId === 'string') postgres?.cancel(sessionId);
    });
    // `KILL QUERY` from a session served elsewhere (another agent or replica), checked by the control plane.
    c.on(SESSION_SIGNAL_EVENTS.mysqlKillQuery, (payload) => {
      const sessionId = (payload as { sessionId?: unknown } | null)?.sessionId;
      if (typeof sessionId === 'string') mysql?.killQuery(sessionId);
    });
    return c;
  };
  channel = connectTo(config.controlPlane.url, log);
  if (wings.approvals) approvals = new (await import('./approvals/approval-client.js')).ApprovalClient(channel, log);
  channel.onReady(() => shipper.kick());
  if (config.controlPlane.allReplicas) {
    fanout = new ReplicaFanout({
      primary: channel,
      connect: (url) => connectTo(url, log.child({ replicaUrl: url })),
      refreshMs: config.controlPlane.replicaRefreshSeconds * 1000,
      log,
    });
    fanout.start();
  }
  log.info({ controlPlane: config.controlPlane.url, resources: config.resources.map((r) => `${r.name}(${r.type})`) }, 'agent starting');
  channel.start();

  const handle: AgentHandle = {
    agentId: () => channel.session?.agentId,
    connected: () => channel.connected,
    waitConnected: (timeoutMs = 10_000) => channel.waitReady(timeoutMs),
    stats: () => ({
      ...counters,
      connected: channel.connected,
      agentId: channel.session?.agentId,
      policyVersion: channel.session?.policy?.version,
      reconnects: channel.reconnects,
      tunnel: channel.tunnelStats(),
      otherReplicas: fanout?.connections ?? { total: 0, ready: 0 },
    }),
    stopped,
    close: async () => {
      await postgres?.close();
      await mysql?.close();
      ssh?.close();
      kubernetes?.close();
      fanout?.stop('agent closing');
      mcp?.close();
      channel.stop('agent closing');
      shipper.close();
      // Events recorded by the sessions just ended (and anything still buffered) reach the disk.
      await shipper.closeFiles();
      resolveStopped({ kind: 'closed' });
    },
  };
  return handle;
}
