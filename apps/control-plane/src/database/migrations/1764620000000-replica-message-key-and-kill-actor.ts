import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The key that seals replica-to-replica messages on Redis (one row, made by the first replica that
 * starts, read by every other one), and who killed a session (the API actor, or the grant that
 * ended it).
 */
export class ReplicaMessageKeyAndKillActor1764620000000 implements MigrationInterface {
  name = 'ReplicaMessageKeyAndKillActor1764620000000';

  // IF NOT EXISTS: development databases may hold these from a build where this migration had
  // another timestamp (it was renumbered when merged after the approval-detail migration).
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS replica_message_keys (
      id smallint PRIMARY KEY CHECK (id = 1),
      key bytea NOT NULL CHECK (octet_length(key) >= 32),
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`ALTER TABLE sessions ADD COLUMN IF NOT EXISTS killed_by jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN killed_by`);
    await q.query(`DROP TABLE replica_message_keys`);
  }
}
