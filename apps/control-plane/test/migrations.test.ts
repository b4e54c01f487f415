import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, MIGRATIONS } from '../src/database/data-source.js';
import { createTestDatabase } from './support/harness.js';

type DataSource = ReturnType<typeof createDataSource>;

const tables = async (ds: DataSource) =>
  (await ds.query<{ tablename: string }[]>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((r) => r.tablename);
const columns = async (ds: DataSource, table: string, names: string[]) =>
  ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND column_name = ANY($2)`, [table, names]);

/** What must be gone once a migration's `down` ran, keyed by migration name (order independent). */
const AFTER_DOWN: Record<string, (ds: DataSource) => Promise<void>> = {
  AgentOidcIdentity1764400000000: async (ds) => {
    expect(await columns(ds, 'agents', ['oidc_principal_id', 'connected'])).toEqual([]);
  },
  WebhookDeliveries1764560000000: async (ds) => {
    expect(await tables(ds)).not.toContain('webhook_deliveries');
    expect(await columns(ds, 'webhook_subscriptions', ['description', 'disabled_by'])).toEqual([]);
  },
  InitialSchema1764300000000: async (ds) => {
    expect(await tables(ds)).toEqual(['schema_migrations']);
    expect(await ds.query(`SELECT proname FROM pg_proc WHERE proname = 'audit_events_append_only'`)).toEqual([]);
  },
};

describe('migrations', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('go up on an empty database, down cleanly one by one, and up again', async () => {
    const ds = createDataSource(db.url);
    await ds.initialize();
    try {
      expect(await tables(ds)).toEqual([]);
      await ds.runMigrations({ transaction: 'each' });
      expect(await tables(ds)).toEqual([
        'access_requests', 'agents', 'approvals', 'audit_events', 'grants', 'policy_versions', 'resources',
        'schema_migrations', 'session_events', 'sessions', 'webhook_deliveries', 'webhook_subscriptions',
      ]);
      expect(await ds.showMigrations()).toBe(false);
      const undone: string[] = [];
      for (let i = 0; i < MIGRATIONS.length; i++) {
        const [newest] = await ds.query<{ name: string }[]>('SELECT name FROM schema_migrations ORDER BY timestamp DESC, id DESC LIMIT 1');
        await ds.undoLastMigration({ transaction: 'each' });
        undone.push(newest!.name);
        await AFTER_DOWN[newest!.name]?.(ds);
      }
      expect(undone.at(-1)).toBe('InitialSchema1764300000000');
      expect(await tables(ds)).toEqual(['schema_migrations']);
      await ds.runMigrations({ transaction: 'each' });
      expect(await tables(ds)).toContain('audit_events');
      expect(await tables(ds)).toContain('webhook_deliveries');
    } finally {
      await ds.destroy();
    }
  });
});
