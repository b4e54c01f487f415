import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '@gw/identity';
import { principalSnapshot } from '../sessions/principal-snapshot.js';
import { jsonbSafe } from '../sessions/session-event-chunks.js';

/** Sessions idle for longer than this are gone (404): the client starts a new one. */
export const IDLE_HOURS = 24;
/** The `sessions` record of an MCP session at `/mcp` names this resource: the gateway's own tools. */
export const MCP_GATEWAY_RESOURCE = 'gateway';

/** What a client declared about itself at `initialize`: kept, shown, never trusted. */
export interface DeclaredClient {
  name: string | null;
  version: string | null;
}

export interface McpSessionRecord {
  id: string;
  principalId: string;
  protocolVersion: string;
  client: DeclaredClient;
}

interface Row {
  id: string;
  principal_id: string;
  protocol_version: string;
  client_name: string | null;
  client_version: string | null;
}

const toRecord = (r: Row): McpSessionRecord => ({
  id: r.id,
  principalId: r.principal_id,
  protocolVersion: r.protocol_version,
  client: { name: r.client_name, version: r.client_version },
});

/**
 * MCP sessions live in Postgres, not in a replica's memory: any replica answers any request of a
 * session (the tool calls themselves are self-contained), and a DELETE on one replica ends the
 * session for all. A session belongs to the principal that opened it; to anyone else it does not exist.
 */
@Injectable()
export class McpSessionsStore {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Opens the MCP session and its record in `/api/v1/sessions` (type `mcp`, resource `gateway`:
   * the gateway's own tools), in one transaction: the session id is the record's id.
   */
  async create(principal: Principal, protocolVersion: string, client: DeclaredClient, sourceAddress: string | null): Promise<string> {
    const id = randomUUID();
    const declared = { client: 'mcp', applicationName: `mcp:${client.name ?? 'unknown'}`, mcp: { clientName: client.name, clientVersion: client.version, protocolVersion, declared: true } };
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO mcp_sessions (id, principal_id, token_id, protocol_version, client_name, client_version, source_address)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [id, principal.id, principal.tokenId ?? null, protocolVersion, client.name, client.version, sourceAddress],
      );
      await m.query(
        `INSERT INTO sessions (id, principal_id, principal, token_id, resource_name, resource_type, source_address, declared, status)
         VALUES ($1, $2, $3, $4, $5, 'mcp', $6, $7, 'active')`,
        [id, principal.id, JSON.stringify(principalSnapshot(principal)), principal.tokenId ?? null, MCP_GATEWAY_RESOURCE, sourceAddress, JSON.stringify(declared)],
      );
    });
    return id;
  }

  /** Appends one event to the session's record; the sequence number comes from the session row, so replicas never collide. */
  async recordEvent(id: string, type: string, data: Record<string, unknown>): Promise<void> {
    await this.dataSource.query(
      `WITH s AS (UPDATE mcp_sessions SET event_seq = event_seq + 1 WHERE id = $1 RETURNING id, event_seq)
       INSERT INTO session_event_chunks (session_id, first_seq, last_seq, events)
       SELECT s.id, s.event_seq, s.event_seq, jsonb_build_array(jsonb_build_object('seq', s.event_seq, 'at', now(), 'type', $2::text, 'data', $3::jsonb))
       FROM s WHERE EXISTS (SELECT 1 FROM sessions WHERE sessions.id = s.id)`,
      [id, type, jsonbSafe(JSON.stringify(data))],
    );
  }

  /** The live session with this id of this principal (and marks it seen), or null. */
  async touch(id: string, principal: Principal): Promise<McpSessionRecord | null> {
    if (!isUuid(id)) return null;
    const rows = await this.dataSource.query<[Row[], number]>(
      `UPDATE mcp_sessions SET last_seen_at = now()
       WHERE id = $1 AND principal_id = $2 AND ended_at IS NULL AND last_seen_at > now() - make_interval(hours => $3)
       RETURNING id, principal_id, protocol_version, client_name, client_version`,
      [id, principal.id, IDLE_HOURS],
    );
    const row = rows[0][0];
    return row ? toRecord(row) : null;
  }

  /** Ends the session; false when there was no live session of this principal with that id. */
  async end(id: string, principal: Principal): Promise<boolean> {
    if (!isUuid(id)) return false;
    const rows = await this.dataSource.query<[Row[], number]>(
      `UPDATE mcp_sessions SET ended_at = now() WHERE id = $1 AND principal_id = $2 AND ended_at IS NULL RETURNING id`,
      [id, principal.id],
    );
    if (rows[1] === 0) return false;
    await this.dataSource.query(
      `UPDATE sessions SET status = 'ended', end_reason = 'the client ended the MCP session (DELETE)', ended_at = now() WHERE id = $1 AND status = 'active'`,
      [id],
    );
    return true;
  }
}

export const isUuid = (text: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
