import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit events are chained inside Postgres, by one function call per batch (chain version 2).
 *
 * Before, a writer took the chain's advisory lock, read the head, computed the hashes in Node and
 * inserted: the lock, which every replica shares, stayed held across three round trips, each waiting
 * for the writer's event loop. Under load (bench/scale, three replicas opening sessions) an open
 * waited 88 ms (p50) for its audit event, most of it in the line for that lock. Now Node hashes each
 * event's content (canonical JSON, as before) and `audit_append` links the batch under the lock in
 * one statement: the lock is held for microseconds, and an append is one round trip.
 *
 * Version 2 link: hash = sha256('gw-audit-v2:' || prev_hash || ':' || seq || ':' || content_hash),
 * content_hash = sha256(canonical JSON of id, occurredAt, actorId, actor, action, resource, outcome,
 * details). Rows written before (or by an older replica during a rolling upgrade, which takes the same
 * lock) keep version 1, and verify checks each row by its own version.
 */
export class AuditAppendFunction1765500000000 implements MigrationInterface {
  name = 'AuditAppendFunction1765500000000';

  async up(q: QueryRunner): Promise<void> {
    // A constant default: no row is rewritten (the append-only trigger would refuse it anyway).
    await q.query(`ALTER TABLE audit_events ADD COLUMN chain_version smallint NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE audit_events ADD CONSTRAINT audit_events_chain_version_check CHECK (chain_version IN (1, 2))`);
    await q.query(`CREATE FUNCTION audit_append(batch jsonb)
      RETURNS TABLE (appended_seq bigint, appended_prev_hash text, appended_hash text)
      LANGUAGE plpgsql AS $$
      DECLARE
        head_seq bigint;
        head_hash text;
        event jsonb;
      BEGIN
        IF jsonb_typeof(batch) IS DISTINCT FROM 'array' THEN
          RAISE EXCEPTION 'audit_append takes a JSON array of events';
        END IF;
        -- The chain's lock, 0x67774155 ("gwAU"): the key version-1 writers (older replicas) take too.
        PERFORM pg_advisory_xact_lock(1735868757);
        SELECT a.seq, a.hash INTO head_seq, head_hash FROM audit_events a ORDER BY a.seq DESC LIMIT 1;
        head_seq := coalesce(head_seq, 0);
        head_hash := coalesce(head_hash, repeat('0', 64));
        FOR event IN SELECT e.value FROM jsonb_array_elements(batch) WITH ORDINALITY AS e(value, n) ORDER BY e.n LOOP
          IF coalesce(event->>'contentHash', '') !~ '^[0-9a-f]{64}$' THEN
            RAISE EXCEPTION 'audit_append: every event needs its contentHash (64 hex digits)';
          END IF;
          appended_seq := head_seq + 1;
          appended_prev_hash := head_hash;
          appended_hash := encode(sha256(convert_to(
            'gw-audit-v2:' || head_hash || ':' || appended_seq::text || ':' || (event->>'contentHash'), 'UTF8')), 'hex');
          INSERT INTO audit_events (seq, id, occurred_at, actor_id, actor, action, resource, outcome, details, prev_hash, hash, chain_version)
          VALUES (appended_seq, (event->>'id')::uuid, (event->>'occurredAt')::timestamptz, event->>'actorId',
                  nullif(event->'actor', 'null'::jsonb), event->>'action', event->>'resource', event->>'outcome',
                  event->'details', head_hash, appended_hash, 2);
          head_seq := appended_seq;
          head_hash := appended_hash;
          RETURN NEXT;
        END LOOP;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    // An older control plane would report every version-2 row as a broken link.
    const rows = (await q.query(`SELECT count(*)::int AS n FROM audit_events WHERE chain_version = 2`)) as { n: number }[];
    const n = rows[0]?.n ?? 0;
    if (n > 0) throw new Error(`${n} audit events are chained with version 2, which older control planes cannot verify; not undone`);
    await q.query(`DROP FUNCTION audit_append(jsonb)`);
    await q.query(`ALTER TABLE audit_events DROP CONSTRAINT audit_events_chain_version_check`);
    await q.query(`ALTER TABLE audit_events DROP COLUMN chain_version`);
  }
}
