import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recordings are stored as chunks: one row per session per batch an agent shipped (the events as one
 * JSON array, in seq order), instead of one row per event. A statement's record then costs Postgres a
 * share of one row instead of a row, an index entry and a foreign-key check of its own: about 5 µs of
 * its CPU per event instead of 20 (docs/architecture.md, "Recordings"). The events keep their JSON;
 * reads unnest the chunks in SQL. LZ4 compresses the arrays where the server has it (pglz otherwise).
 */
export class SessionEventChunks1765400000000 implements MigrationInterface {
  name = 'SessionEventChunks1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE session_event_chunks (
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      first_seq bigint NOT NULL,
      last_seq bigint NOT NULL,
      events jsonb NOT NULL,
      PRIMARY KEY (session_id, first_seq),
      CHECK (last_seq >= first_seq)
    )`);
    // Finding the chunks that overlap a batch (a resent one) and the chunks after a reader's cursor.
    await q.query(`CREATE INDEX session_event_chunks_last_seq_idx ON session_event_chunks (session_id, last_seq)`);
    await q.query(`DO $$ BEGIN
      ALTER TABLE session_event_chunks ALTER COLUMN events SET COMPRESSION lz4;
    EXCEPTION WHEN OTHERS THEN NULL; END $$`);
    // Existing events move over in chunks of up to 500 (as an agent ships them).
    await q.query(`INSERT INTO session_event_chunks (session_id, first_seq, last_seq, events)
      SELECT session_id, min(seq), max(seq),
             jsonb_agg(jsonb_build_object('seq', seq, 'at', occurred_at, 'type', type, 'data', data) ORDER BY seq)
      FROM session_events GROUP BY session_id, seq / 500`);
    await q.query(`DROP TABLE session_events`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE session_events (
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      occurred_at timestamptz NOT NULL,
      type text NOT NULL,
      data jsonb NOT NULL,
      PRIMARY KEY (session_id, seq)
    )`);
    await q.query(`INSERT INTO session_events (session_id, seq, occurred_at, type, data)
      SELECT DISTINCT ON (c.session_id, (e->>'seq')::bigint) c.session_id, (e->>'seq')::bigint, (e->>'at')::timestamptz, e->>'type', e->'data'
      FROM session_event_chunks c CROSS JOIN LATERAL jsonb_array_elements(c.events) AS e
      ORDER BY c.session_id, (e->>'seq')::bigint`);
    await q.query(`DROP TABLE session_event_chunks`);
  }
}
