import type { ResourceKind } from '@gw/contracts';
import type { OpenErrorCodeName, StreamOpenHeader, ChannelSocket, TunnelStream, VerifiedSessionGrant } from '@gw/tunnel';
import type { Logger } from 'pino';
import type { AgentResource } from '../config/agent-config.js';

/** Everything a handler needs for one stream whose grant has already been verified. */
export interface ProtocolOpenContext {
  header: StreamOpenHeader;
  grant: VerifiedSessionGrant;
  resource: AgentResource;
  /** Accept the stream once the resource side is ready. Throws if the opener gave up meanwhile. */
  accept: () => TunnelStream;
  /**
   * The same, as a ChannelSocket (socket-like calls on the callback core, no Node stream machinery):
   * for wings that parse or relay bytes themselves. Use one of the two, once.
   */
  acceptSocket: () => ChannelSocket;
  reject: (code: OpenErrorCodeName, reason: string) => void;
  /** Aborted when the control plane cancels the open or the tunnel closes before an answer. */
  signal: AbortSignal;
  log: Logger;
}

/** Serves one resource type. Handlers for Postgres, SSH ... plug in here by type. */
export interface ProtocolHandler {
  readonly type: ResourceKind;
  open(context: ProtocolOpenContext): void;
}

export type ProtocolHandlerRegistry = ReadonlyMap<ResourceKind, ProtocolHandler>;

export function handlerRegistry(handlers: readonly ProtocolHandler[]): ProtocolHandlerRegistry {
  const map = new Map<ResourceKind, ProtocolHandler>();
  for (const handler of handlers) {
    if (map.has(handler.type)) throw new Error(`two protocol handlers for ${handler.type}`);
    map.set(handler.type, handler);
  }
  return map;
}
