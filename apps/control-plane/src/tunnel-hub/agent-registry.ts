import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import type { ResourceDeclaration } from '@gw/contracts';
import type { TunnelEndpoint } from '@gw/tunnel';

export interface ConnectedAgent {
  agentId: string;
  agentName: string;
  socket: Socket;
  tunnel: TunnelEndpoint;
  /** What the agent declared in its hello; not changed while it stays connected (the registry indexes it). */
  resources: Map<string, ResourceDeclaration>;
  connectedAt: Date;
}

/**
 * The agents connected to THIS replica, and which resources each serves. Indexed by resource and by
 * agent id: with a thousand agents per replica, every session open (`pick`) and every disconnect
 * (`isOnline`) would otherwise walk all of them.
 */
@Injectable()
export class AgentRegistry {
  private readonly bySocket = new Map<string, ConnectedAgent>();
  private readonly byResource = new Map<string, Set<ConnectedAgent>>();
  private readonly byAgentId = new Map<string, Set<ConnectedAgent>>();

  add(agent: ConnectedAgent): void {
    this.remove(agent.socket.id);
    this.bySocket.set(agent.socket.id, agent);
    for (const name of agent.resources.keys()) addTo(this.byResource, name, agent);
    addTo(this.byAgentId, agent.agentId, agent);
  }

  remove(socketId: string): ConnectedAgent | undefined {
    const agent = this.bySocket.get(socketId);
    if (!agent) return undefined;
    this.bySocket.delete(socketId);
    for (const name of agent.resources.keys()) removeFrom(this.byResource, name, agent);
    removeFrom(this.byAgentId, agent.agentId, agent);
    return agent;
  }

  connectionsOf(agentId: string): ConnectedAgent[] {
    return [...(this.byAgentId.get(agentId) ?? [])];
  }

  all(): ConnectedAgent[] {
    return [...this.bySocket.values()];
  }

  isOnline(agentId: string): boolean {
    return (this.byAgentId.get(agentId)?.size ?? 0) > 0;
  }

  /** An online agent serving the resource; among several (high availability) the least loaded. */
  pick(resourceName: string): ConnectedAgent | undefined {
    let best: ConnectedAgent | undefined;
    let bestLoad = Infinity;
    for (const agent of this.byResource.get(resourceName) ?? []) {
      if (agent.tunnel.closed) continue;
      const load = agent.tunnel.stats().openStreams;
      if (load < bestLoad) {
        best = agent;
        bestLoad = load;
      }
    }
    return best;
  }
}

function addTo(index: Map<string, Set<ConnectedAgent>>, key: string, agent: ConnectedAgent): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(agent);
}

function removeFrom(index: Map<string, Set<ConnectedAgent>>, key: string, agent: ConnectedAgent): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(agent);
  if (set.size === 0) index.delete(key);
}
