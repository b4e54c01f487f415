import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The verified process (pipeline run, pod, SPIFFE workload) behind a request: approvals and grants
 * keep it beside the principal id, and the REST API filters sessions and audit events by it
 * (`?process.run_id=`), by containment on the `process` object inside the principal snapshots.
 */
export class ProcessAttribution1765150000000 implements MigrationInterface {
  name = 'ProcessAttribution1765150000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE approvals ADD COLUMN process jsonb NULL`);
    await q.query(`ALTER TABLE grants ADD COLUMN process jsonb NULL`);
    await q.query(`CREATE INDEX sessions_principal_process ON sessions USING gin ((principal -> 'process') jsonb_path_ops)`);
    await q.query(`CREATE INDEX audit_events_actor_process ON audit_events USING gin ((actor -> 'process') jsonb_path_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_events_actor_process`);
    await q.query(`DROP INDEX sessions_principal_process`);
    await q.query(`ALTER TABLE grants DROP COLUMN process`);
    await q.query(`ALTER TABLE approvals DROP COLUMN process`);
  }
}
