import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import type { ResourceDeclaration } from '@gw/contracts';
import type { TunnelEndpoint } from '@gw/tunnel';

export interface ConnectedAgent {
  agentId: string;
  agentName: string;
  socket: Socket;
  tunnel: TunnelEndpoint;
  resources: Map<string, ResourceDeclaration>;
  connectedAt: Date;
}

/** The agents connected to THIS replica, and which resources each serves. */
@Injectable()
export class AgentRegistry {
  private readonly bySocket = new Map<string, ConnectedAgent>();

  add(agent: ConnectedAgent): void {
    this.bySocket.set(agent.socket.id, agent);
  }

  remove(socketId: string): ConnectedAgent | undefined {
    const agent = this.bySocket.get(socketId);
    this.bySocket.delete(socketId);
    return agent;
  }

  connectionsOf(agentId: string): ConnectedAgent[] {
    return [...this.bySocket.values()].filter((a) => a.agentId === agentId);
  }

  all(): ConnectedAgent[] {
    return [...this.bySocket.values()];
  }

  isOnline(agentId: string): boolean {
    return this.connectionsOf(agentId).length > 0;
  }

  /** An online agent serving the resource; among several (high availability) the least loaded. */
  pick(resourceName: string): ConnectedAgent | undefined {
    let best: ConnectedAgent | undefined;
    let bestLoad = Infinity;
    for (const agent of this.bySocket.values()) {
      if (agent.tunnel.closed || !agent.resources.has(resourceName)) continue;
      const load = agent.tunnel.stats().openStreams;
      if (load < bestLoad) {
        best = agent;
        bestLoad = load;
      }
    }
    return best;
  }
}
