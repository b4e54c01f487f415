import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '@gw/identity';
import type { ToolPinCheck } from '@gw/contracts';
import { AuditService } from '../audit/audit.service.js';
import { NotFoundError } from '../common/domain-error.js';
import { DomainEvents } from '../events/domain-events.service.js';

export type ToolPinStatus = 'withheld' | 'accepted' | 'superseded';

export interface ToolPinView {
  resource: string;
  tool: string;
  hash: string;
  status: ToolPinStatus;
  definition: { description?: string; inputSchema?: unknown; annotations?: unknown; title?: unknown; outputSchema?: unknown };
  firstSeenAt: string;
  decidedAt: string | null;
  decidedBy: Record<string, unknown> | null;
}

interface Row {
  resource: string;
  tool: string;
  hash: string;
  status: ToolPinStatus;
  definition: { description?: string; inputSchema?: unknown; annotations?: unknown; title?: unknown; outputSchema?: unknown };
  first_seen_at: Date;
  decided_at: Date | null;
  decided_by: Record<string, unknown> | null;
}

const view = (r: Row): ToolPinView => ({
  resource: r.resource, tool: r.tool, hash: r.hash, status: r.status, definition: r.definition,
  firstSeenAt: r.first_seen_at.toISOString(), decidedAt: r.decided_at?.toISOString() ?? null, decidedBy: r.decided_by,
});

/**
 * Pinned tool definitions of MCP servers behind agents. A definition (by hash) is `accepted` by an
 * admin, or `withheld` until one accepts it; accepting a new definition of a tool supersedes the
 * old one. A tool never seen before is accepted at once where the resource's config says so; a
 * changed one never is. Each newly withheld definition is one audit event and one
 * `mcp_tool.withheld` event (webhooks) saying what changed.
 */
@Injectable()
export class ToolPinsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(DomainEvents) private readonly events: DomainEvents,
  ) {}

  /** Names of the tools whose current definition is accepted; records what is new. */
  async check(agent: { id: string }, c: ToolPinCheck): Promise<string[]> {
    const accepted: string[] = [];
    for (const t of c.tools) {
      const known = await this.dataSource.query<Row[]>(`SELECT * FROM mcp_tool_pins WHERE resource = $1 AND tool = $2`, [c.resource, t.name]);
      const same = known.find((k) => k.hash === t.hash);
      if (same?.status === 'accepted') {
        accepted.push(t.name);
        continue;
      }
      if (same) continue; // withheld (or superseded and not accepted again): stays withheld, reported once
      const previous = known.find((k) => k.status === 'accepted');
      const autoAccept = known.length === 0 && c.acceptNew;
      const definition = Object.fromEntries((['description', 'inputSchema', 'annotations', 'title', 'outputSchema'] as const).filter((k) => t[k] !== undefined).map((k) => [k, t[k]]));
      const inserted = await this.dataSource.query<Row[]>(
        `INSERT INTO mcp_tool_pins (resource, tool, hash, status, definition, decided_at, decided_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING *`,
        [c.resource, t.name, t.hash, autoAccept ? 'accepted' : 'withheld', JSON.stringify(definition), autoAccept ? new Date() : null, autoAccept ? JSON.stringify({ kind: 'config', agentId: agent.id }) : null],
      );
      if (autoAccept) {
        accepted.push(t.name);
        continue;
      }
      if (inserted.length === 0) continue; // another session recorded it at the same moment
      const change = previous ? 'changed' : 'new';
      const details = {
        tool: t.name, hash: t.hash, change, previousHash: previous?.hash ?? null,
        ...(previous ? { previous: previous.definition, current: definition } : { current: definition }),
        sessionId: c.sessionId,
      };
      await this.audit.append({ action: 'mcp.tool_withheld', outcome: 'denied', actor: { id: `agent:${agent.id}`, kind: 'agent' }, resource: c.resource, details });
      await this.events.publish('mcp_tool.withheld', { resource: c.resource, ...details });
    }
    return accepted;
  }

  async list(q: { resource?: string; status?: ToolPinStatus }): Promise<ToolPinView[]> {
    const rows = await this.dataSource.query<Row[]>(
      `SELECT * FROM mcp_tool_pins WHERE ($1::text IS NULL OR resource = $1) AND ($2::text IS NULL OR status = $2) ORDER BY resource, tool, first_seen_at DESC LIMIT 1000`,
      [q.resource ?? null, q.status ?? null],
    );
    return rows.map(view);
  }

  /** Accepts one definition of a tool; the one accepted before it is superseded. */
  async accept(actor: Principal, key: { resource: string; tool: string; hash: string }): Promise<ToolPinView> {
    const by = { kind: 'principal', id: actor.id, displayName: actor.displayName ?? null };
    const row = await this.dataSource.transaction(async (tx) => {
      const found = await tx.query<Row[]>(`SELECT * FROM mcp_tool_pins WHERE resource = $1 AND tool = $2 AND hash = $3 FOR UPDATE`, [key.resource, key.tool, key.hash]);
      if (found.length === 0) throw new NotFoundError('tool definition', `${key.resource}/${key.tool}@${key.hash.slice(0, 12)}`);
      await tx.query(`UPDATE mcp_tool_pins SET status = 'superseded' WHERE resource = $1 AND tool = $2 AND hash <> $3 AND status = 'accepted'`, [key.resource, key.tool, key.hash]);
      const [rows] = await tx.query<[Row[], number]>(
        `UPDATE mcp_tool_pins SET status = 'accepted', decided_at = now(), decided_by = $4 WHERE resource = $1 AND tool = $2 AND hash = $3 RETURNING *`,
        [key.resource, key.tool, key.hash, JSON.stringify(by)],
      );
      await this.audit.append({ action: 'mcp.tool_accepted', outcome: 'success', actor, resource: key.resource, details: { tool: key.tool, hash: key.hash } }, tx);
      return rows[0]!;
    });
    await this.events.publish('mcp_tool.accepted', { resource: key.resource, tool: key.tool, hash: key.hash, acceptedBy: by });
    return view(row);
  }
}
