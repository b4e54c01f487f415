import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every MCP session (`Mcp-Session-Id`) is also a row of `sessions` (type `mcp`, no agent) whose
 * events are its tool calls; a resource session opened by a tool call names that MCP session as its
 * parent. `mcp_sessions.event_seq` numbers the tool-call events, so replicas serving the same MCP
 * session never write the same sequence number. Resources of type `mcp` (MCP servers behind an
 * agent) are declared like any other, and `mcp_tool_pins` holds the tool definitions (by hash)
 * an admin accepted for each of them, and those withheld until one does.
 */
export class McpSessionRecords1765120000000 implements MigrationInterface {
  name = 'McpSessionRecords1765120000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN parent_session_id uuid REFERENCES sessions(id) ON DELETE SET NULL`);
    await q.query(`CREATE INDEX sessions_parent_idx ON sessions (parent_session_id) WHERE parent_session_id IS NOT NULL`);
    await q.query(`CREATE INDEX sessions_type_idx ON sessions (resource_type, started_at DESC)`);
    await q.query(`ALTER TABLE mcp_sessions ADD COLUMN event_seq bigint NOT NULL DEFAULT 0`);
    await q.query(`CREATE INDEX mcp_sessions_last_seen ON mcp_sessions (last_seen_at)`);
    await q.query(`CREATE INDEX mcp_held_calls_created ON mcp_held_calls (created_at)`);
    await q.query(`ALTER TABLE resources DROP CONSTRAINT resources_type_check`);
    await q.query(`ALTER TABLE resources ADD CONSTRAINT resources_type_check CHECK (type IN ('postgres','mysql','ssh','kubernetes','tcp','mcp'))`);
    await q.query(`CREATE TABLE mcp_tool_pins (
      resource text NOT NULL,
      tool text NOT NULL,
      hash text NOT NULL,
      status text NOT NULL CHECK (status IN ('withheld', 'accepted', 'superseded')),
      definition jsonb NOT NULL,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      decided_at timestamptz,
      decided_by jsonb,
      PRIMARY KEY (resource, tool, hash)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mcp_tool_pins`);
    // The older schema cannot hold these rows (their sessions keep the name and type as text).
    await q.query(`DELETE FROM resources WHERE type = 'mcp'`);
    await q.query(`ALTER TABLE resources DROP CONSTRAINT resources_type_check`);
    await q.query(`ALTER TABLE resources ADD CONSTRAINT resources_type_check CHECK (type IN ('postgres','mysql','ssh','kubernetes','tcp'))`);
    await q.query(`DROP INDEX mcp_held_calls_created`);
    await q.query(`DROP INDEX mcp_sessions_last_seen`);
    await q.query(`ALTER TABLE mcp_sessions DROP COLUMN event_seq`);
    await q.query(`DROP INDEX sessions_type_idx`);
    await q.query(`DROP INDEX sessions_parent_idx`);
    await q.query(`ALTER TABLE sessions DROP COLUMN parent_session_id`);
  }
}
