import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '../src/database/data-source.js';
import { createTestDatabase } from './support/harness.js';

describe('migrations', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const tables = async (ds: ReturnType<typeof createDataSource>) =>
    (await ds.query<{ tablename: string }[]>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((r) => r.tablename);

  it('go up on an empty database, down cleanly, and up again', async () => {
    const ds = createDataSource(db.url);
    await ds.initialize();
    try {
      expect(await tables(ds)).toEqual([]);
      await ds.runMigrations({ transaction: 'each' });
      expect(await tables(ds)).toEqual([
        'access_requests', 'agents', 'approvals', 'audit_events', 'grants', 'mcp_held_calls', 'mcp_sessions', 'mcp_tool_pins', 'policy_versions', 'replica_message_keys', 'replicas', 'resources',
        'schema_migrations', 'session_event_chunks', 'sessions', 'webhook_deliveries', 'webhook_subscriptions',
      ]);
      expect(await ds.showMigrations()).toBe(false);
      const detailColumn = `SELECT column_name FROM information_schema.columns WHERE table_name = 'approvals' AND column_name = 'detail'`;
      expect(await ds.query(detailColumn)).toHaveLength(1);
      const fingerprintColumns = `SELECT column_name FROM information_schema.columns WHERE table_name = 'approvals' AND column_name IN ('request_fingerprint', 'consumed_at')`;
      expect(await ds.query(fingerprintColumns)).toHaveLength(2);
      const processColumns = `SELECT table_name FROM information_schema.columns WHERE table_name IN ('approvals', 'grants') AND column_name = 'process' ORDER BY 1`;
      expect(await ds.query(processColumns)).toEqual([{ table_name: 'approvals' }, { table_name: 'grants' }]);
      const kindCheck = `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'approvals_kind_check'`;
      const replicaColumn = `SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions' AND column_name = 'replica_id'`;
      const clientKeyColumn = `SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions' AND column_name = 'client_key'`;
      expect(await ds.query(clientKeyColumn)).toHaveLength(1);
      // TRUNCATE is refused like UPDATE and DELETE (a row trigger does not fire on it); undone, the trigger is gone.
      const truncateTrigger = `SELECT tgname FROM pg_trigger WHERE tgname = 'audit_events_no_truncate'`;
      await expect(ds.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(truncateTrigger)).toEqual([]);
      // Audit chain version 2: undone while no row uses it; refused once one does.
      const chainVersion = `SELECT column_name FROM information_schema.columns WHERE table_name = 'audit_events' AND column_name = 'chain_version'`;
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(chainVersion)).toEqual([]);
      await ds.runMigrations({ transaction: 'each' });
      await ds.query(`SELECT * FROM audit_append($1::jsonb)`, [JSON.stringify([{ id: '00000000-0000-4000-8000-0000000000a1', occurredAt: '2026-01-01T00:00:00.000Z', actorId: null, actor: null, action: 'test', resource: null, outcome: 'success', details: {}, contentHash: 'a'.repeat(64) }])]);
      expect(await ds.query(truncateTrigger)).toHaveLength(1);
      await ds.undoLastMigration({ transaction: 'each' }); // no TRUNCATE trigger
      await expect(ds.undoLastMigration({ transaction: 'each' })).rejects.toThrow(/chained with version 2/);
      expect(await ds.query(chainVersion)).toHaveLength(1);
      await ds.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update`);
      await ds.query(`DELETE FROM audit_events`);
      await ds.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update`);
      await ds.undoLastMigration({ transaction: 'each' });
      // Recordings as chunks: undone, the events come back as rows of session_events (each seq once).
      const sid = '00000000-0000-4000-8000-000000000001';
      await ds.query(`INSERT INTO sessions (id, principal_id, principal, resource_name, resource_type, status) VALUES ($1, 'p', '{}', 'r', 'postgres', 'ended')`, [sid]);
      await ds.query(`INSERT INTO session_event_chunks (session_id, first_seq, last_seq, events) VALUES ($1, 0, 1, $2), ($1, 2, 2, $3)`, [sid,
        JSON.stringify([{ seq: 0, at: '2026-01-01T00:00:00Z', type: 'pg.statement', data: { n: 0 } }, { seq: 1, at: '2026-01-01T00:00:01Z', type: 'pg.end', data: {} }]),
        JSON.stringify([{ seq: 2, at: '2026-01-01T00:00:02Z', type: 'pg.end', data: { n: 2 } }])]);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables(ds)).not.toContain('session_event_chunks');
      expect(await ds.query(`SELECT seq::int, type, data FROM session_events ORDER BY seq`)).toEqual([
        { seq: 0, type: 'pg.statement', data: { n: 0 } }, { seq: 1, type: 'pg.end', data: {} }, { seq: 2, type: 'pg.end', data: { n: 2 } }]);
      await ds.runMigrations({ transaction: 'each' });
      expect(await ds.query(`SELECT first_seq::int, last_seq::int, jsonb_array_length(events) AS n FROM session_event_chunks`)).toEqual([{ first_seq: 0, last_seq: 2, n: 3 }]);
      await ds.undoLastMigration({ transaction: 'each' }); // no TRUNCATE trigger
      await ds.undoLastMigration({ transaction: 'each' }); // the audit chain function
      await ds.undoLastMigration({ transaction: 'each' }); // the chunks
      await ds.query(`DELETE FROM sessions`);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(clientKeyColumn)).toEqual([]);
      expect(await ds.query(replicaColumn)).toHaveLength(1);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(replicaColumn)).toEqual([]);
      expect(await tables(ds)).not.toContain('replicas');
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(processColumns)).toEqual([]);
      const parentColumn = `SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions' AND column_name = 'parent_session_id'`;
      expect(await ds.query(parentColumn)).toHaveLength(1);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(parentColumn)).toEqual([]);
      expect(await tables(ds)).not.toContain('mcp_tool_pins');
      expect(await ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'mcp_sessions' AND column_name = 'event_seq'`)).toEqual([]);
      expect(await ds.query(fingerprintColumns)).toHaveLength(2);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(fingerprintColumns)).toEqual([]);
      expect((await ds.query<{ def: string }[]>(kindCheck))[0]?.def).toContain('kubernetes_request');
      await ds.undoLastMigration({ transaction: 'each' });
      expect((await ds.query<{ def: string }[]>(kindCheck))[0]?.def).not.toContain('kubernetes_request');
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables(ds)).not.toContain('mcp_sessions');
      expect(await tables(ds)).not.toContain('mcp_held_calls');
      expect(await tables(ds)).toContain('replica_message_keys');
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables(ds)).not.toContain('replica_message_keys');
      const killColumns = await ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions' AND column_name = 'killed_by'`);
      expect(killColumns).toEqual([]);
      expect(await ds.query(detailColumn)).toHaveLength(1);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await ds.query(detailColumn)).toEqual([]);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables(ds)).not.toContain('webhook_deliveries');
      const webhookColumns = await ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'webhook_subscriptions' AND column_name IN ('description', 'disabled_by')`);
      expect(webhookColumns).toEqual([]);
      await ds.undoLastMigration({ transaction: 'each' });
      const grantColumns = await ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'grants' AND column_name = 'expired_at'`);
      expect(grantColumns).toEqual([]);
      await ds.undoLastMigration({ transaction: 'each' });
      const columns = await ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'agents' AND column_name = 'oidc_principal_id'`);
      expect(columns).toEqual([]);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables(ds)).toEqual(['schema_migrations']);
      const functions = await ds.query(`SELECT proname FROM pg_proc WHERE proname = 'audit_events_append_only'`);
      expect(functions).toEqual([]);
      await ds.runMigrations({ transaction: 'each' });
      expect(await tables(ds)).toContain('audit_events');
    } finally {
      await ds.destroy();
    }
  });
});
