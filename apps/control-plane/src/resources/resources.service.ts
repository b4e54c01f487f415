import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ResourceEntity } from './resource.entity.js';

export interface ResourceView {
  name: string;
  type: string;
  environment: string | null;
  labels: Record<string, string>;
  online: boolean;
  lastHeartbeatAt: string | null;
  agents: { agentId: string; online: boolean; lastHeartbeatAt: string | null }[];
}

@Injectable()
export class ResourcesService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** One entry per resource name; several agents may serve one name (high availability). */
  async listGrouped(): Promise<ResourceView[]> {
    const rows = await this.dataSource.getRepository(ResourceEntity).find({ order: { name: 'ASC' } });
    const byName = new Map<string, ResourceView>();
    for (const r of rows) {
      const heartbeat = r.lastHeartbeatAt?.toISOString() ?? null;
      const view = byName.get(r.name) ?? {
        name: r.name, type: r.type, environment: r.environment, labels: r.labels, online: false, lastHeartbeatAt: null, agents: [],
      };
      view.agents.push({ agentId: r.agentId, online: r.online, lastHeartbeatAt: heartbeat });
      view.online ||= r.online;
      if (heartbeat && (!view.lastHeartbeatAt || heartbeat > view.lastHeartbeatAt)) view.lastHeartbeatAt = heartbeat;
      byName.set(r.name, view);
    }
    return [...byName.values()];
  }
}
