import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '../src/database/data-source.js';
import { SessionEventChunks, type ChunkInput } from '../src/sessions/session-event-chunks.js';
import { createTestDatabase } from './support/harness.js';

/** Recordings stored as chunks, against the real Postgres: what a reader gets back, whatever the chunking. */
describe('session event chunks', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: ReturnType<typeof createDataSource>;
  let chunks: SessionEventChunks;
  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url);
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    chunks = new SessionEventChunks(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const newSession = async (): Promise<string> => {
    const id = randomUUID();
    await ds.query(`INSERT INTO sessions (id, principal_id, principal, resource_name, resource_type, status) VALUES ($1, 'p', '{}', 'r', 'ssh', 'active')`, [id]);
    return id;
  };
  const typeOf = (seq: number) => (seq % 3 === 0 ? 'ssh.io' : seq % 3 === 1 ? 'ssh.exec' : 'ssh.resize');
  const chunk = (sessionId: string, seqs: number[]): ChunkInput => ({
    sessionId,
    seqs,
    json: seqs.map((seq) => JSON.stringify({ seq, at: new Date(1_800_000_000_000 + seq).toISOString(), type: typeOf(seq), data: { seq } })),
  });

  it('walks a session of more chunks than one read window takes, by type, in order, each event once', async () => {
    const sid = await newSession();
    // 450 chunks of 1 to 3 events (more than the 200-chunk window), stored in shuffled order.
    const all: number[][] = [];
    for (let seq = 0; all.length < 450; ) {
      const size = 1 + (all.length % 3);
      all.push(Array.from({ length: size }, (_, k) => seq + k));
      seq += size;
    }
    const shuffled = [...all].sort((a, b) => ((a[0]! * 7919) % 450) - ((b[0]! * 7919) % 450));
    for (let i = 0; i < shuffled.length; i += 50) await chunks.store(shuffled.slice(i, i + 50).map((seqs) => chunk(sid, seqs)));
    const total = all.flat().length;
    const io = await chunks.ofTypes(sid, ['ssh.io', 'ssh.exec']);
    const expected = all.flat().filter((seq) => typeOf(seq) !== 'ssh.resize');
    expect(io.map((e) => e.seq)).toEqual(expected);
    expect(io.every((e) => e.type === typeOf(e.seq) && (e.data as { seq: number }).seq === e.seq)).toBe(true);
    // Paging through everything, 97 at a time, gives every seq once and in order.
    const seen: number[] = [];
    for (let after = -1; ; ) {
      const page = await chunks.page(sid, after, 97);
      seen.push(...page.map((e) => e.seq));
      if (page.length < 97) break;
      after = page.at(-1)!.seq;
    }
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('a batch sent again with more events stores only the new ones; overlapping chunks read back once', async () => {
    const sid = await newSession();
    expect(await chunks.store([chunk(sid, [0, 1, 2])])).toEqual([3]);
    expect(await chunks.store([chunk(sid, [0, 1, 2])])).toEqual([0]);
    expect(await chunks.store([chunk(sid, [1, 2, 3, 4]), chunk(await newSession(), [0])])).toEqual([2, 1]);
    // Two replicas racing on the same resent batch could store overlapping chunks: readers still see each seq once.
    await ds.query(`INSERT INTO session_event_chunks (session_id, first_seq, last_seq, events) VALUES ($1, 100, 101, $2)`, [sid, `[${chunk(sid, [2, 3]).json.join(',')}]`]);
    expect((await chunks.page(sid, -1, 10)).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    expect((await chunks.ofTypes(sid, ['ssh.io', 'ssh.exec', 'ssh.resize'])).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('stores every character the JSON of an event can hold as it was, for several sessions in one insert', async () => {
    const texts = ['quote " and backslash \\ and {braces}, [brackets]', "SELECT '{\"a\": 1}'::jsonb, E'\\x00'", 'ünïcödé ✓ 𝄞 and a tab\t and a newline\n', '"},{"sid":"00000000-0000-4000-8000-000000000000"'];
    const sessions = await Promise.all(texts.map(() => newSession()));
    const inputs = sessions.map((sessionId, i) => ({
      sessionId,
      seqs: [0, 1],
      json: [0, 1].map((seq) => JSON.stringify({ seq, at: '2027-01-15T08:00:00.000Z', type: 'pg.statement', data: { text: texts[i], seq } })),
    }));
    expect(await chunks.store(inputs)).toEqual([2, 2, 2, 2]);
    for (const [i, sid] of sessions.entries()) {
      const events = await chunks.page(sid, -1, 10);
      expect(events.map((e) => [e.seq, e.type, e.data])).toEqual([[0, 'pg.statement', { text: texts[i], seq: 0 }], [1, 'pg.statement', { text: texts[i], seq: 1 }]]);
    }
  });
});
