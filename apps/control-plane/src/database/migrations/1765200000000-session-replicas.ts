import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which control plane replica holds each live session, and the replicas' heartbeats: a replica that
 * died (kill -9, lost host) cannot close its sessions, so the others close them once its heartbeat
 * is stale, and a restarted replica closes what its earlier life left open. Agents learn the
 * replicas' addresses from it and keep a tunnel to each, so any replica can serve any session.
 */
export class SessionReplicas1765200000000 implements MigrationInterface {
  name = 'SessionReplicas1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE replicas (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      -- Where agents reach this replica (null: a worker, or the address is not known yet).
      agent_url text,
      started_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL
    )`);
    await q.query(`CREATE INDEX replicas_name_idx ON replicas (name)`);
    await q.query(`ALTER TABLE sessions ADD COLUMN replica_id uuid`);
    await q.query(`CREATE INDEX sessions_live_replica_idx ON sessions (replica_id) WHERE status IN ('opening', 'active')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX sessions_live_replica_idx`);
    await q.query(`ALTER TABLE sessions DROP COLUMN replica_id`);
    await q.query(`DROP TABLE replicas`);
  }
}
