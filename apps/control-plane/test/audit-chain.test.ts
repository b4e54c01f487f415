import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { hashEvent } from '../src/audit/audit-chain.js';
import { AuditService } from '../src/audit/audit.service.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

describe('audit chain', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness();
    admin = await h.token('security-admin');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('concurrent writers extend one unbroken chain', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => h.request('POST', '/api/v1/agents', { token: admin, body: { name: `agent-${i}` } })),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const verify = await h.request('GET', '/api/v1/audit/verify', { token: admin });
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.checked).toBeGreaterThanOrEqual(40);
    const events = await h.request('GET', '/api/v1/audit/events?action=agent.registered&limit=500', { token: admin });
    expect(events.body.items).toHaveLength(40);
    const seqs = new Set(events.body.items.map((e: { seq: string }) => e.seq));
    expect(seqs.size).toBe(40);
  });

  it('appends from two replicas at once share the lock in batches: one chain, each caller gets its own event, a bad record fails alone', async () => {
    const replicaA = h.app.get(AuditService);
    const replicaB = new AuditService(h.app.get(DataSource));
    const asked = Array.from({ length: 300 }, (_, i) => ({ action: `batch.test.${i}`, outcome: 'success' as const, details: { i } }));
    const bad = { action: 'batch.test.bad', outcome: 'success' as const, resource: `nul${String.fromCharCode(0)}in the name` };
    const appends = asked.map((record, i) => (i % 2 ? replicaA : replicaB).append(record));
    const badAppend = replicaA.append(bad);
    const events = await Promise.all(appends);
    await expect(badAppend).rejects.toThrow();
    expect(events.map((e) => e.action)).toEqual(asked.map((r) => r.action));
    const seqs = events.map((e) => BigInt(e.seq)).sort((a, b) => (a < b ? -1 : 1));
    expect(new Set(seqs.map(String)).size).toBe(300);
    const verify = await h.request('GET', '/api/v1/audit/verify', { token: admin });
    expect(verify.body).toMatchObject({ ok: true });
  });

  it('rows written by an older replica (chain version 1) and by this one (version 2) form one chain; a change to either is named', async () => {
    const client = new pg.Client({ connectionString: h.dbUrl });
    await client.connect();
    const verify = async () => (await h.request('GET', '/api/v1/audit/verify', { token: admin })).body;
    try {
      // An older replica during a rolling upgrade: takes the same lock, hashes every field in Node.
      const v1Seqs: string[] = [];
      for (let i = 0; i < 3; i++) {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(1735868757)');
        const head = (await client.query('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1')).rows[0] as { seq: string; hash: string };
        const event = { seq: String(BigInt(head.seq) + 1n), id: randomUUID(), occurredAt: new Date(), actorId: 'old-replica', actor: { id: 'old-replica', kind: 'service' },
          action: 'upgrade.test.v1', resource: null, outcome: 'success', details: { i }, prevHash: head.hash };
        await client.query(`INSERT INTO audit_events (seq, id, occurred_at, actor_id, actor, action, resource, outcome, details, prev_hash, hash)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, [event.seq, event.id, event.occurredAt, event.actorId, event.actor, event.action, event.resource, event.outcome, event.details, event.prevHash, hashEvent(event)]);
        await client.query('COMMIT');
        v1Seqs.push(event.seq);
        await h.app.get(AuditService).append({ action: 'upgrade.test.v2', outcome: 'success', details: { i } });
      }
      const versions = (await client.query(`SELECT action, chain_version FROM audit_events WHERE action LIKE 'upgrade.test.%' ORDER BY seq`)).rows;
      expect(versions.map((r: { chain_version: number }) => r.chain_version)).toEqual([1, 2, 1, 2, 1, 2]);
      expect(await verify()).toMatchObject({ ok: true });

      await client.query('SET session_replication_role = replica');
      const v1 = v1Seqs[1]!;
      await client.query(`UPDATE audit_events SET details = '{"i": 99}' WHERE seq = $1`, [v1]);
      expect((await verify()).firstBroken).toMatchObject({ seq: v1, reason: 'hash_mismatch' });
      await client.query(`UPDATE audit_events SET details = '{"i": 1}' WHERE seq = $1`, [v1]);
      const v2 = String(BigInt(v1) + 1n);
      await client.query(`UPDATE audit_events SET outcome = 'failure' WHERE seq = $1`, [v2]);
      expect((await verify()).firstBroken).toMatchObject({ seq: v2, reason: 'hash_mismatch' });
      await client.query(`UPDATE audit_events SET outcome = 'success', chain_version = 1 WHERE seq = $1`, [v2]);
      expect((await verify()).firstBroken).toMatchObject({ seq: v2, reason: 'hash_mismatch' });
      await client.query(`UPDATE audit_events SET chain_version = 2 WHERE seq = $1`, [v2]);
      expect(await verify()).toMatchObject({ ok: true });
      await client.query('SET session_replication_role = origin');
      await expect(client.query(`SELECT * FROM audit_append('[{"id": "${randomUUID()}", "action": "x"}]'::jsonb)`)).rejects.toThrow(/contentHash/);
      await expect(client.query(`SELECT * FROM audit_append('{}'::jsonb)`)).rejects.toThrow(/JSON array/);
    } finally {
      await client.end();
    }
  });

  it('the database refuses updates, and a row changed behind its back is detected and named', async () => {
    const client = new pg.Client({ connectionString: h.dbUrl });
    await client.connect();
    try {
      await expect(client.query(`UPDATE audit_events SET outcome = 'failure' WHERE seq = 3`)).rejects.toThrow(/append-only/);
      // A superuser can bypass triggers; the hash chain still catches it.
      await client.query('SET session_replication_role = replica');
      await client.query(`UPDATE audit_events SET details = details || '{"name":"evil"}'::jsonb WHERE seq = 5`);
      const id = (await client.query('SELECT id FROM audit_events WHERE seq = 5')).rows[0].id;
      const verify = await h.request('GET', '/api/v1/audit/verify', { token: admin });
      expect(verify.body.ok).toBe(false);
      expect(verify.body.firstBroken).toEqual({ seq: '5', id, reason: 'hash_mismatch' });
      expect(verify.body.checked).toBe(4);
    } finally {
      await client.end();
    }
  });

  it('the database refuses TRUNCATE too (a row trigger does not fire on it), and the chain stays whole', async () => {
    const client = new pg.Client({ connectionString: h.dbUrl });
    await client.connect();
    try {
      const before = (await client.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n as number;
      await expect(client.query('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
      await expect(client.query('TRUNCATE audit_events CASCADE')).rejects.toThrow(/append-only/);
      expect((await client.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n).toBe(before);
    } finally {
      await client.end();
    }
  });

  it('a deleted row in the middle is detected as a gap', async () => {
    const client = new pg.Client({ connectionString: h.dbUrl });
    await client.connect();
    try {
      await client.query('SET session_replication_role = replica');
      await client.query(`UPDATE audit_events SET details = details - 'name' WHERE seq = 5`);
      expect((await h.request('GET', '/api/v1/audit/verify', { token: admin })).body.ok).toBe(true);
      await client.query('DELETE FROM audit_events WHERE seq = 10');
      const verify = await h.request('GET', '/api/v1/audit/verify', { token: admin });
      expect(verify.body.firstBroken).toMatchObject({ seq: '11', reason: 'sequence_gap' });
    } finally {
      await client.end();
    }
  });

  it('search filters by principal, action and time', async () => {
    const whoami = await h.request('GET', '/api/v1/whoami', { token: admin });
    const from = new Date(Date.now() - 60_000).toISOString();
    const res = await h.request('GET', `/api/v1/audit/events?principal=${encodeURIComponent(whoami.body.id)}&from=${from}&limit=5`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(5);
    expect(res.body.items.every((e: { actorId: string }) => e.actorId === whoami.body.id)).toBe(true);
    expect(res.body.nextBefore).toBe(res.body.items[4].seq);
    const future = await h.request('GET', `/api/v1/audit/events?from=${new Date(Date.now() + 60_000).toISOString()}`, { token: admin });
    expect(future.body.items).toHaveLength(0);
    const bad = await h.request('GET', '/api/v1/audit/events?from=yesterday', { token: admin });
    expect(bad.status).toBe(400);
  });
});
