import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Columns the approval and grant flows need beyond the first schema: the resource and principal of
 * an approval (the API and events name them without reading `subject`), the scope an approver chose
 * for a held statement, and when a grant's expiry was processed (so a restart can catch up on
 * expiries that passed while the control plane was down, exactly once).
 */
export class ApprovalsAndGrants1764500000000 implements MigrationInterface {
  name = 'ApprovalsAndGrants1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE approvals ADD COLUMN resource_name text`);
    await q.query(`ALTER TABLE approvals ADD COLUMN scope text CHECK (scope IN ('once','session'))`);
    await q.query(`ALTER TABLE grants ADD COLUMN expired_at timestamptz`);
    await q.query(`CREATE INDEX grants_unprocessed_expiry_idx ON grants (expires_at) WHERE expired_at IS NULL AND revoked_at IS NULL`);
    await q.query(`CREATE INDEX sessions_grant_idx ON sessions (grant_id) WHERE grant_id IS NOT NULL`);
    await q.query(`CREATE INDEX approvals_request_idx ON approvals (access_request_id) WHERE access_request_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS approvals_request_idx`);
    await q.query(`DROP INDEX IF EXISTS sessions_grant_idx`);
    await q.query(`DROP INDEX IF EXISTS grants_unprocessed_expiry_idx`);
    await q.query(`ALTER TABLE grants DROP COLUMN IF EXISTS expired_at`);
    await q.query(`ALTER TABLE approvals DROP COLUMN IF EXISTS scope`);
    await q.query(`ALTER TABLE approvals DROP COLUMN IF EXISTS resource_name`);
  }
}
