import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The unmasked statement (text and parameters) of a held statement, for its approvers and admins;
 * `subject` stays the masked form every other viewer, the audit chain and the recording get.
 */
export class ApprovalDetail1764610000000 implements MigrationInterface {
  name = 'ApprovalDetail1764610000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE approvals ADD COLUMN detail jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE approvals DROP COLUMN detail`);
  }
}
