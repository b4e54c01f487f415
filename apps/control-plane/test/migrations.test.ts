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
        'schema_migrations', 'session_events', 'sessions', 'webhook_deliveries', 'webhook_subscriptions',
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
