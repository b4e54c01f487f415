import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An approved Kubernetes request survives an agent restart: the approval itself keeps the request's
 * fingerprint, and `consumed_at` marks it used when the same principal sends the same request again.
 */
export class KubernetesRequestFingerprint1765100000000 implements MigrationInterface {
  name = 'KubernetesRequestFingerprint1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE approvals ADD COLUMN request_fingerprint text NULL, ADD COLUMN consumed_at timestamptz NULL`);
    await q.query(`CREATE INDEX approvals_request_fingerprint_idx ON approvals (requested_by, resource_name, request_fingerprint) WHERE request_fingerprint IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX approvals_request_fingerprint_idx`);
    await q.query(`ALTER TABLE approvals DROP COLUMN consumed_at, DROP COLUMN request_fingerprint`);
  }
}
