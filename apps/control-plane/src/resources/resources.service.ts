import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { resourceDeclarationSchema, type ResourceDeclaration } from '@gw/contracts';
import { ResourceEntity, type ResourceType } from './resource.entity.js';

export interface ResourceView {
  name: string;
  type: ResourceType;
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

  /** One resource by name (any agent's row: type, environment and labels must agree across agents). */
  async findByName(name: string): Promise<ResourceEntity | null> {
    // A name no agent could declare is unknown without asking Postgres, which fails on some (a NUL).
    if (!resourceDeclarationSchema.shape.name.safeParse(name).success) return null;
    return this.dataSource.getRepository(ResourceEntity).findOne({ where: { name }, order: { updatedAt: 'DESC' } });
  }

  /** An agent (re)connected: its declared resources become exactly these, online. */
  async declare(agentId: string, declarations: ResourceDeclaration[], version?: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query('UPDATE agents SET connected = true, last_seen_at = now(), version = $2 WHERE id = $1', [agentId, version ?? null]);
      const names = declarations.map((d) => d.name);
      await tx.query('DELETE FROM resources WHERE agent_id = $1 AND NOT (name = ANY($2::text[]))', [agentId, names]);
      for (const d of declarations) {
        await tx.query(
          `INSERT INTO resources (id, agent_id, name, type, environment, labels, online, last_heartbeat_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, true, now(), now(), now())
           ON CONFLICT (agent_id, name) DO UPDATE SET type = EXCLUDED.type, environment = EXCLUDED.environment,
             labels = EXCLUDED.labels, online = true, last_heartbeat_at = now(), updated_at = now()`,
          [randomUUID(), agentId, d.name, d.type, d.environment ?? null, JSON.stringify(d.labels)],
        );
      }
    });
  }

  /** The heartbeats of many agents in two statements (a replica with a thousand agents beats every second). */
  async heartbeatMany(agentIds: readonly string[]): Promise<void> {
    if (agentIds.length === 0) return;
    await this.dataSource.query('UPDATE resources SET online = true, last_heartbeat_at = now() WHERE agent_id = ANY($1::uuid[])', [agentIds]);
    await this.dataSource.query('UPDATE agents SET last_seen_at = now(), connected = true WHERE id = ANY($1::uuid[])', [agentIds]);
  }

  async markAgentOffline(agentId: string): Promise<void> {
    await this.dataSource.query('UPDATE resources SET online = false, updated_at = now() WHERE agent_id = $1', [agentId]);
    await this.dataSource.query('UPDATE agents SET connected = false WHERE id = $1', [agentId]);
  }

  /** Resources whose agent missed its heartbeats (e.g. its replica died) go offline. */
  async sweepStale(olderThanMs: number): Promise<number> {
    const result = await this.dataSource.query<[unknown[], number]>(
      `UPDATE resources SET online = false, updated_at = now()
       WHERE online AND (last_heartbeat_at IS NULL OR last_heartbeat_at < now() - ($1::int * interval '1 millisecond'))`,
      [olderThanMs],
    );
    await this.dataSource.query(
      `UPDATE agents SET connected = false
       WHERE connected AND (last_seen_at IS NULL OR last_seen_at < now() - ($1::int * interval '1 millisecond'))`,
      [olderThanMs],
    );
    return result[1] ?? 0;
  }
}
