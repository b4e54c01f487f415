import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Approvals of Kubernetes requests (`kubernetes_request`): the client is answered at once and
 * sends the request again once it is approved, often in a new session, so such an approval
 * outlives the session that asked for it (unlike a held statement or command).
 */
export class KubernetesRequestApprovals1765010000000 implements MigrationInterface {
  name = 'KubernetesRequestApprovals1765010000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE approvals DROP CONSTRAINT approvals_kind_check`);
    await q.query(`ALTER TABLE approvals ADD CONSTRAINT approvals_kind_check CHECK (kind IN ('access_request','statement','command','kubernetes_request'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The older schema cannot hold these rows.
    await q.query(`DELETE FROM approvals WHERE kind = 'kubernetes_request'`);
    await q.query(`ALTER TABLE approvals DROP CONSTRAINT approvals_kind_check`);
    await q.query(`ALTER TABLE approvals ADD CONSTRAINT approvals_kind_check CHECK (kind IN ('access_request','statement','command'))`);
  }
}
