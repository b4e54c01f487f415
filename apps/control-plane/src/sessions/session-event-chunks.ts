import type { DataSource, EntityManager } from 'typeorm';

/** One event as stored and read back: its JSON is the agent's event (seq, at, type, data). */
export interface StoredEvent {
  seq: number;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

/** A session's new events, already serialized (one JSON object each, in seq order). */
export interface ChunkInput {
  sessionId: string;
  seqs: readonly number[];
  json: readonly string[];
}

type Query = Pick<DataSource | EntityManager, 'query'>;

/** jsonb cannot hold U+0000: it is recorded as U+FFFD (the JSON escape is the only way it appears). */
export const jsonbSafe = (json: string): string => (json.includes('\\u0000') ? json.replace(/\\u0000/g, '\\ufffd') : json);

/**
 * The `session_event_chunks` table: a session's events as chunks (one row per shipped batch, the events
 * as one JSON array). Chunks of a session do not overlap: a batch sent again (its ack was lost) is
 * stored only for the events no chunk holds yet. Two replicas storing the same resent batch at the
 * same moment could both store it; reads return each seq once, so that race costs space, not truth.
 */
export class SessionEventChunks {
  constructor(private readonly db: Query) {}

  /**
   * Stores each input as one chunk, unless it overlaps a stored chunk: then only the events no chunk
   * holds are stored (one round trip more, only for resent batches). Returns, per input, how many of
   * its events were stored now.
   */
  async store(inputs: readonly ChunkInput[]): Promise<number[]> {
    if (inputs.length === 0) return [];
    // One JSON document for all inputs: the events are JSON already, so it is built by joining them,
    // with nothing to escape (a text[] literal would escape every quote of every event).
    const batch = `[${inputs.map((c) => `{"sid":${JSON.stringify(c.sessionId)},"lo":${c.seqs[0]},"hi":${c.seqs[c.seqs.length - 1]},"events":[${c.json.join(',')}]}`).join(',')}]`;
    const rows = await this.db.query<{ i: number; stored: boolean; clashed: boolean }[]>(
      `WITH b AS (
         SELECT (n - 1)::int AS i, (x->>'sid')::uuid AS sid, (x->>'lo')::bigint AS lo, (x->>'hi')::bigint AS hi, x->'events' AS events
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(x, n)),
       clash AS (
         SELECT DISTINCT b.i FROM b JOIN session_event_chunks c ON c.session_id = b.sid AND c.last_seq >= b.lo AND c.first_seq <= b.hi),
       ins AS (
         INSERT INTO session_event_chunks (session_id, first_seq, last_seq, events)
         SELECT sid, lo, hi, events FROM b WHERE i NOT IN (SELECT i FROM clash)
         ON CONFLICT DO NOTHING RETURNING session_id, first_seq)
       SELECT b.i, EXISTS (SELECT 1 FROM ins WHERE ins.session_id = b.sid AND ins.first_seq = b.lo) AS stored,
              b.i IN (SELECT i FROM clash) AS clashed
       FROM b`,
      [batch],
    );
    const stored = inputs.map(() => 0);
    for (const row of rows) {
      const input = inputs[row.i]!;
      if (row.stored) stored[row.i] = input.seqs.length;
      else if (row.clashed) stored[row.i] = await this.storeMissing(input);
    }
    return stored;
  }

  /** A resent batch: stores, as one chunk per gap, the events that no stored chunk holds. */
  private async storeMissing(input: ChunkInput): Promise<number> {
    const lo = input.seqs[0]!;
    const hi = input.seqs[input.seqs.length - 1]!;
    const held = await this.db.query<{ first_seq: string; last_seq: string }[]>(
      `SELECT first_seq, last_seq FROM session_event_chunks WHERE session_id = $1 AND last_seq >= $2 AND first_seq <= $3`,
      [input.sessionId, lo, hi],
    );
    const covered = (seq: number) => held.some((h) => Number(h.first_seq) <= seq && seq <= Number(h.last_seq));
    // Consecutive runs of missing events, each a chunk of its own, so chunks never overlap.
    const runs: { seqs: number[]; json: string[] }[] = [];
    let run: (typeof runs)[number] | undefined;
    input.seqs.forEach((seq, k) => {
      if (covered(seq)) {
        run = undefined;
        return;
      }
      if (!run) runs.push((run = { seqs: [], json: [] }));
      run.seqs.push(seq);
      run.json.push(input.json[k]!);
    });
    let stored = 0;
    for (const r of runs) {
      const inserted = await this.db.query<unknown[]>(
        `INSERT INTO session_event_chunks (session_id, first_seq, last_seq, events) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [input.sessionId, r.seqs[0], r.seqs[r.seqs.length - 1], `[${r.json.join(',')}]`],
      );
      if (inserted.length > 0) stored += r.seqs.length;
    }
    return stored;
  }

  /**
   * Events with seq > `afterSeq`, in order, at most `limit`, each seq once. Reads only the chunks that
   * end after the cursor, and at most `limit` of them (each holds at least one event past it).
   */
  async page(sessionId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.db.query<EventRow[]>(
      `SELECT DISTINCT ON (seq) seq, at, type, data FROM (
         SELECT ${EVENT_COLUMNS}
         FROM (SELECT events FROM session_event_chunks WHERE session_id = $1 AND last_seq > $2 ORDER BY first_seq LIMIT $3) c
         CROSS JOIN LATERAL jsonb_array_elements(c.events) AS e) x
       WHERE seq > $2 ORDER BY seq LIMIT $3`,
      [sessionId, afterSeq, limit],
    );
    return rows.map(toStored);
  }

  /** Every event of the session whose type is one of `types`, in order: walks the chunks a window at a time. */
  async ofTypes(sessionId: string, types: readonly string[]): Promise<StoredEvent[]> {
    const all: StoredEvent[] = [];
    const seen = new Set<number>();
    for (let after = -1; ;) {
      const rows = await this.db.query<(EventRow & { chunk_end: string | null })[]>(
        `WITH c AS (SELECT last_seq, events FROM session_event_chunks WHERE session_id = $1 AND last_seq > $2 ORDER BY last_seq LIMIT ${CHUNK_WINDOW})
         SELECT (SELECT max(last_seq) FROM c) AS chunk_end, x.* FROM (SELECT 1) one LEFT JOIN LATERAL (
           SELECT ${EVENT_COLUMNS} FROM c CROSS JOIN LATERAL jsonb_array_elements(c.events) AS e WHERE e->>'type' = ANY($3)) x ON true
         ORDER BY x.seq`,
        [sessionId, after, types],
      );
      for (const row of rows) {
        if (row.seq === null || seen.has(Number(row.seq))) continue;
        seen.add(Number(row.seq));
        all.push(toStored(row));
      }
      const end = rows[0]?.chunk_end;
      if (end === null || end === undefined) return all.sort((a, b) => a.seq - b.seq);
      after = Number(end);
    }
  }
}

/** Chunks read per query when walking a whole session. */
const CHUNK_WINDOW = 200;
const EVENT_COLUMNS = `(e->>'seq')::bigint AS seq, (e->>'at')::timestamptz AS at, e->>'type' AS type, e->'data' AS data`;
type EventRow = { seq: string; at: Date; type: string; data: Record<string, unknown> };
const toStored = (r: EventRow): StoredEvent => ({ seq: Number(r.seq), at: r.at.toISOString(), type: r.type, data: r.data });
