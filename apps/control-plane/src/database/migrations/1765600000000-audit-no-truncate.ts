import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * TRUNCATE is refused on audit_events, as UPDATE and DELETE are. The row trigger of the initial schema
 * does not fire on TRUNCATE, so the table's owner (the control plane's own database user, or a
 * cleanup script or ORM `clear()` using its credentials) could empty the trail in one statement, no
 * trigger to switch off first; and the next append starts a fresh, valid chain at seq 1, which verify
 * cannot tell from a new installation.
 */
export class AuditNoTruncate1765600000000 implements MigrationInterface {
  name = 'AuditNoTruncate1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events`);
  }
}
