import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The id a client was given for its session (the Postgres endpoint's BackendKeyData process id,
 * the MySQL endpoint's connection id): what `pg_cancel_backend(<pid>)` and `KILL QUERY <id>` name
 * from another session. Any replica resolves it here, whichever replica and agent hold the target.
 */
export class SessionClientKeys1765320000000 implements MigrationInterface {
  name = 'SessionClientKeys1765320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN client_key integer`);
    await q.query(`CREATE INDEX sessions_live_client_key_idx ON sessions (client_key) WHERE client_key IS NOT NULL AND status IN ('opening', 'active')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX sessions_live_client_key_idx`);
    await q.query(`ALTER TABLE sessions DROP COLUMN client_key`);
  }
}
