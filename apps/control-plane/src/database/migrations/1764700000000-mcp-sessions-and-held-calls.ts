import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * MCP over Streamable HTTP: the sessions clients hold (`Mcp-Session-Id`), kept here rather than in one
 * replica's memory so any replica can serve any request of a session; and the tool calls that policy
 * held for approval, with their result once the approved statement or command ran, so that
 * `wait_for_approval` can be answered by any replica.
 */
export class McpSessionsAndHeldCalls1764700000000 implements MigrationInterface {
  name = 'McpSessionsAndHeldCalls1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE mcp_sessions (
      id uuid PRIMARY KEY,
      principal_id text NOT NULL,
      token_id text,
      protocol_version text NOT NULL,
      client_name text,
      client_version text,
      source_address text,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz
    )`);
    await q.query(`CREATE TABLE mcp_held_calls (
      approval_id uuid PRIMARY KEY,
      principal_id text NOT NULL,
      mcp_session_id uuid,
      tool text NOT NULL,
      resource text NOT NULL,
      session_id uuid NOT NULL,
      status text NOT NULL CHECK (status IN ('held', 'completed', 'failed')),
      result jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`);
    await q.query(`CREATE INDEX mcp_held_calls_principal ON mcp_held_calls (principal_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mcp_held_calls`);
    await q.query(`DROP TABLE mcp_sessions`);
  }
}
