import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agents may authenticate with their own OIDC token instead of the one-time credential, and their
 * connection state is kept where every replica sees it.
 */
export class AgentOidcIdentity1764400000000 implements MigrationInterface {
  name = 'AgentOidcIdentity1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE agents ADD COLUMN oidc_principal_id text`);
    await q.query(`ALTER TABLE agents ADD COLUMN connected boolean NOT NULL DEFAULT false`);
    await q.query(`CREATE UNIQUE INDEX agents_oidc_principal_idx ON agents (oidc_principal_id) WHERE oidc_principal_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS agents_oidc_principal_idx`);
    await q.query(`ALTER TABLE agents DROP COLUMN IF EXISTS oidc_principal_id`);
    await q.query(`ALTER TABLE agents DROP COLUMN IF EXISTS connected`);
  }
}
