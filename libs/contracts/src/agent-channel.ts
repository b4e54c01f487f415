import { z } from 'zod';

/**
 * The messages between an edge agent and the control plane on the socket.io namespace `/agents`
 * (WebSocket transport only). Binary tunnel frames travel as the `f` event, or several back to back
 * as one `fs` event once both sides said they understand it (see @gw/tunnel frame-batch.ts);
 * everything else is one of the typed events below. Both sides validate what they receive.
 */
export const AGENT_NAMESPACE = '/agents';
export const AGENT_EVENTS = {
  /** agent -> CP, with ack: declares itself and its resources. */
  hello: 'hello',
  /** agent -> CP: liveness and load. */
  heartbeat: 'hb',
  /** CP -> agent: a newly activated policy version. */
  policy: 'policy',
  /** both ways: one binary tunnel frame. */
  frame: 'f',
  /** both ways, once negotiated in hello / hello ack (`frameBatches`): tunnel frames back to back. */
  frames: 'fs',
  /** CP -> agent, just before disconnecting it: the credential was revoked. */
  revoked: 'revoked',
  /** agent -> CP, with ack (ReplicasAnswer): the replicas to keep a tunnel to. */
  replicas: 'replicas',
} as const;

/**
 * Largest single socket.io message either side accepts (engine.io closes the connection beyond it).
 * Tunnel frames are far smaller (64 KiB payload, enforced by the tunnel codec); recording batches
 * are the large ones (at most MAX_RECORDING_BATCH_BYTES of events plus envelope).
 */
export const MAX_AGENT_MESSAGE_BYTES = 2 * 1024 * 1024;

export const RESOURCE_TYPES = ['postgres', 'mysql', 'ssh', 'kubernetes', 'tcp', 'mcp'] as const;
export type ResourceKind = (typeof RESOURCE_TYPES)[number];

const labelKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, 'label keys: letters, digits, . _ / -, at most 63');

/** What an agent says about a resource: never its address or credentials, which stay in the agent. */
export const resourceDeclarationSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, . _ -, at most 63'),
  type: z.enum(RESOURCE_TYPES),
  environment: z.string().max(64).optional(),
  labels: z.record(labelKey, z.string().max(256)).default({}),
});
export type ResourceDeclaration = z.output<typeof resourceDeclarationSchema>;

/** Socket.io handshake `auth`: the one-time agent credential, or an OIDC access token of the agent itself. */
export const agentHandshakeSchema = z.union([
  z.strictObject({ credential: z.string().min(1).max(256), version: z.string().max(64).optional() }),
  z.strictObject({ token: z.string().min(1).max(16384), agentName: z.string().min(1).max(63), version: z.string().max(64).optional() }),
]);
export type AgentHandshake = z.output<typeof agentHandshakeSchema>;

export const helloSchema = z.strictObject({
  version: z.string().max(64),
  /** The agent accepts `fs` frame batches (agents that do not say so get one `f` per frame). */
  frameBatches: z.boolean().optional(),
  resources: z.array(resourceDeclarationSchema).max(1000),
});
export type AgentHello = z.output<typeof helloSchema>;

export interface PolicySnapshotMessage {
  version: number;
  sha256: string;
  text: string;
}

/** A control plane replica as agents reach it directly. */
export interface ReplicaAddress {
  id: string;
  url: string;
}

export type ReplicasAnswer = { ok: true; replicaId: string; replicas: ReplicaAddress[] } | { ok: false; error: string };

export type HelloAck =
  | {
      ok: true;
      agentId: string;
      agentName: string;
      /** ES256 public key (JWK) that signs session grants for this agent. */
      grantPublicKey: Record<string, unknown>;
      policy: PolicySnapshotMessage | null;
      heartbeatIntervalMs: number;
      /** The control plane accepts `fs` frame batches (absent: send one `f` per frame). */
      frameBatches?: boolean;
      /** The control plane accepts recording batches of several sessions on `recs` (absent: one `rec` per session). */
      recordingBatches?: boolean;
      /** The replica that answered, and every replica the agent should also keep a tunnel to (absent: older control planes). */
      replicaId?: string;
      replicas?: ReplicaAddress[];
    }
  | { ok: false; error: string };

export const heartbeatSchema = z.strictObject({
  openStreams: z.number().int().min(0).max(1_000_000),
  rssBytes: z.number().int().min(0).optional(),
});
export type AgentHeartbeat = z.output<typeof heartbeatSchema>;
