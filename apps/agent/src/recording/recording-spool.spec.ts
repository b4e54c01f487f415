import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingAck, RecordingBatch } from '@gw/contracts';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecordingShipper, nextBatch } from './recording-shipper.js';
import { RecordingJournal } from './recording-journal.js';
import { MAX_PENDING_IN_MEMORY, SessionSpool } from './recording-spool.js';

const log = pino({ level: 'silent' });
/** Generous: the machine's 2 cores are shared with other test runs. */
const WAIT = { timeout: 5000, interval: 10 };
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-spool-spec-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every line of every journal segment, oldest first. */
async function journalLines(dir: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.startsWith('journal-')).sort()) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) if (line !== '') out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

describe('SessionSpool on the recording journal', () => {
  it('appends events with consecutive seq numbers as journal lines; durable once fsynced', async () => {
    const journal = new RecordingJournal(root);
    const spool = new SessionSpool(randomUUID(), journal);
    const writes = [spool.append('pg.session', { a: 1 }), spool.append('pg.statement', { text: 'SELECT 1' }), spool.append('pg.statement', { text: 'SELECT 2' })];
    expect(spool.durableSeq).toBe(-1); // nothing is durable before its flush
    await Promise.all(writes);
    expect(spool.durableSeq).toBe(2);
    expect(spool.pending.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect((await journalLines(root)).map((l) => [l['sid'], l['seq'], l['type']])).toEqual([
      [spool.sessionId, 0, 'pg.session'],
      [spool.sessionId, 1, 'pg.statement'],
      [spool.sessionId, 2, 'pg.statement'],
    ]);
    await journal.close();
  });

  it('group-commits across sessions: one write and one fdatasync for everything appended in one interval', async () => {
    const probe = await open(join(root, 'probe'), 'w');
    const datasync = vi.spyOn(Object.getPrototypeOf(probe) as { datasync: () => Promise<void> }, 'datasync');
    await probe.close();
    try {
      const journal = new RecordingJournal(root, 50);
      const spools = [randomUUID(), randomUUID(), randomUUID()].map((id) => new SessionSpool(id, journal));
      await Promise.all(spools.flatMap((s) => [s.append('pg.statement', { i: 0 }), s.append('pg.statement', { i: 1 })]));
      expect(datasync).toHaveBeenCalledTimes(1);
      expect(spools.map((s) => s.durableSeq)).toEqual([1, 1, 1]);
      await journal.close();
    } finally {
      datasync.mockRestore();
    }
  });

  it('an ack drops what it covers from memory and survives a restart; a stale ack does not go back', async () => {
    const id = randomUUID();
    const journal = new RecordingJournal(root);
    const spool = new SessionSpool(id, journal);
    for (let i = 0; i < 4; i++) await spool.append('pg.statement', { i });
    await spool.ack(1);
    expect(spool.pending.map((e) => e.seq)).toEqual([2, 3]);
    await spool.ack(0);
    expect(spool.acked).toBe(1);
    expect(spool.pending.map((e) => e.seq)).toEqual([2, 3]);
    await journal.flushed();
    const [after] = await SessionSpool.restore(new RecordingJournal(root));
    expect(after?.acked).toBe(1);
    expect(after?.pending.map((e) => e.seq)).toEqual([2, 3]);
    await journal.close();
  });

  it('after a restart, restores exactly the unacknowledged events of each session with their original seq numbers', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const before = new RecordingJournal(root);
    const sa = new SessionSpool(a, before);
    const sb = new SessionSpool(b, before);
    for (let i = 0; i < 5; i++) await Promise.all([sa.append('pg.statement', { i }), sb.append('pg.statement', { i: i * 10 })]);
    await sa.ack(2);
    await before.flushed();
    const restored = await SessionSpool.restore(new RecordingJournal(root));
    const byId = new Map(restored.map((s) => [s.sessionId, s]));
    expect(byId.get(a)?.pending.map((e) => [e.seq, e.data['i']])).toEqual([[3, 3], [4, 4]]);
    expect(byId.get(b)?.pending.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(byId.get(a)?.ended).toBe(true); // left over from a previous run: over
    expect(byId.get(b)?.durableSeq).toBe(4);
    await before.close();
  });

  it('skips a torn last line left by a crash and never appends to that segment again', async () => {
    const id = randomUUID();
    const before = new RecordingJournal(root);
    const spool = new SessionSpool(id, before);
    await spool.append('pg.statement', { i: 0 });
    await before.close();
    const [segment] = (await readdir(root)).filter((n) => n.startsWith('journal-'));
    await appendFile(join(root, segment!), `{"sid":"${id}","seq":1,"at":"x","type":"pg.stat`);
    const after = new RecordingJournal(root);
    const [restored] = await SessionSpool.restore(after);
    expect(restored?.pending.map((e) => e.seq)).toEqual([0]);
    const next = new SessionSpool(randomUUID(), after);
    await next.append('pg.statement', {});
    const names = (await readdir(root)).filter((n) => n.startsWith('journal-')).sort();
    expect(names).toHaveLength(2);
    const fresh = (await readFile(join(root, names[1]!), 'utf8')).trim().split('\n');
    expect(fresh.map((l) => (JSON.parse(l) as { sid: string }).sid)).toEqual([next.sessionId]);
    await after.close();
  });

  it('deletes segments oldest first, once everything in them and before them is acknowledged', async () => {
    const journal = new RecordingJournal(root, 5, 1); // every write fills its segment
    const a = new SessionSpool(randomUUID(), journal);
    const b = new SessionSpool(randomUUID(), journal);
    await a.append('pg.statement', {});
    await b.append('pg.statement', {});
    await b.append('pg.end', {});
    const segments = async () => (await readdir(root)).filter((n) => n.startsWith('journal-')).length;
    expect(await segments()).toBe(3);
    await b.ack(1);
    await journal.flushed();
    expect(await segments()).toBeGreaterThanOrEqual(3); // the oldest still holds a's unacknowledged event
    await a.ack(0);
    await journal.flushed();
    expect(await readdir(root)).toEqual([]);
    await journal.close();
  });

  it('keeps a backlog beyond the in-memory cap on disk and reloads it in order', async () => {
    const journal = new RecordingJournal(root);
    const spool = new SessionSpool(randomUUID(), journal);
    await Promise.all(Array.from({ length: MAX_PENDING_IN_MEMORY + 3 }, (_, i) => spool.append('pg.statement', { i })));
    expect(spool.pending.length).toBe(MAX_PENDING_IN_MEMORY);
    expect(spool.diskBacklog).toBe(true);
    await spool.ack(MAX_PENDING_IN_MEMORY - 1);
    await spool.reload();
    expect(spool.pending.map((e) => e.seq)).toEqual([MAX_PENDING_IN_MEMORY, MAX_PENDING_IN_MEMORY + 1, MAX_PENDING_IN_MEMORY + 2]);
    expect(spool.diskBacklog).toBe(false);
    await journal.close();
  });

  it('moves the per-session files of an older agent into the journal at start, losing nothing', async () => {
    const id = randomUUID();
    const events = [0, 1, 2].map((seq) => JSON.stringify({ seq, at: new Date().toISOString(), type: 'pg.statement', data: { seq } }));
    await writeFile(join(root, `${id}.jsonl`), `${events.join('\n')}\n`);
    await writeFile(join(root, `${id}.ack`), '0');
    const journal = new RecordingJournal(root);
    const [spool] = await SessionSpool.restore(journal);
    expect(spool?.pending.map((e) => e.seq)).toEqual([1, 2]);
    expect((await readdir(root)).filter((n) => !n.startsWith('journal-'))).toEqual([]);
    // After another restart the events come from the journal.
    const [again] = await SessionSpool.restore(new RecordingJournal(root));
    expect(again?.pending.map((e) => e.seq)).toEqual([1, 2]);
    await journal.close();
  });
});

/** A control plane stand-in: records every batch; `mode` decides the answer. */
function controlPlane() {
  const batches: RecordingBatch[] = [];
  let mode: 'ack' | 'offline' | 'retry' = 'ack';
  const send = vi.fn((batch: RecordingBatch): Promise<RecordingAck> => {
    batches.push(structuredClone(batch));
    if (mode === 'offline') return Promise.reject(new Error('not connected'));
    if (mode === 'retry') return Promise.resolve({ ok: false, error: 'database busy', retry: true });
    return Promise.resolve({ ok: true, stored: batch.events.length });
  });
  return {
    send,
    batches,
    setMode: (m: typeof mode) => (mode = m),
    seqs: (sessionId: string) => batches.filter((b) => b.sessionId === sessionId).map((b) => b.events.map((e) => e.seq)),
  };
}

describe('nextBatch', () => {
  it('never takes an event that is not fsynced yet', () => {
    const events = [0, 1, 2, 3].map((seq) => ({ seq, at: '2026-01-01T00:00:00.000Z', type: 'pg.statement', data: {} }));
    expect(nextBatch(events, 1).map((e) => e.seq)).toEqual([0, 1]);
    expect(nextBatch(events, -1)).toEqual([]);
    expect(nextBatch(events).map((e) => e.seq)).toEqual([0, 1, 2, 3]);
  });
});

describe('RecordingShipper', () => {
  beforeEach(async () => {
    // The shipper creates this itself, asynchronously; the race with a first session is covered below.
    await mkdir(join(root, 'recordings'), { recursive: true });
  });

  it('does not lose a session recorded the moment the shipper starts on a fresh spool directory', async () => {
    // Known bug at the time of writing: the spool appends before the shipper's restore() has created
    // <spoolDir>/recordings, the append fails with ENOENT, and the session's write chain stays rejected.
    // About half of the attempts hit it, so ten attempts expose it reliably.
    for (let i = 0; i < 10; i++) {
      const fresh = join(root, `fresh-${i}`);
      const cp = controlPlane();
      const shipper = new RecordingShipper({ spoolDir: fresh, send: cp.send, log, retryMs: 10 });
      const rec = shipper.session(randomUUID());
      rec.record('pg.session', { i });
      try {
        await vi.waitFor(() => expect(cp.seqs(rec.sessionId).flat()).toEqual([0]), { timeout: 2000, interval: 10 });
      } finally {
        shipper.close();
      }
    }
  });

  it('ships appended events and advances on ack (nothing is sent twice once acknowledged)', async () => {
    const cp = controlPlane();
    const shipper = new RecordingShipper({ spoolDir: root, send: cp.send, log, retryMs: 10 });
    const rec = shipper.session(randomUUID());
    rec.record('pg.session', { user: 'alice' });
    rec.record('pg.statement', { text: 'SELECT 1' });
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), WAIT);
    const all = cp.seqs(rec.sessionId).flat();
    expect(all).toEqual([0, 1]);
    shipper.kick();
    await new Promise((r) => setTimeout(r, 30));
    expect(cp.seqs(rec.sessionId).flat()).toEqual([0, 1]);
    shipper.close();
  });

  it('resends unacknowledged batches with the same seq numbers after a reconnect', async () => {
    const cp = controlPlane();
    cp.setMode('offline');
    const shipper = new RecordingShipper({ spoolDir: root, send: cp.send, log, retryMs: 10 });
    const rec = shipper.session(randomUUID());
    rec.record('pg.statement', { i: 0 });
    rec.record('pg.statement', { i: 1 });
    await rec.flushed();
    await vi.waitFor(() => expect(cp.send).toHaveBeenCalled(), WAIT);
    expect(shipper.backlog()).toBe(2);
    cp.setMode('ack'); // the connection comes back; the retry timer (or a kick) resends
    shipper.kick();
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), WAIT);
    const sent = cp.seqs(rec.sessionId);
    // Every attempt carried the same events: the control plane can de-duplicate by seq.
    for (const seqs of sent) expect(seqs[0]).toBe(0);
    expect(sent.at(-1)).toEqual([0, 1]);
    shipper.close();
  });

  it('retries on its own after a failed send, without waiting for a reconnect signal', async () => {
    const cp = controlPlane();
    cp.setMode('offline');
    const shipper = new RecordingShipper({ spoolDir: root, send: cp.send, log, retryMs: 200 });
    const rec = shipper.session(randomUUID());
    rec.record('pg.statement', { i: 0 });
    await vi.waitFor(() => expect(cp.send).toHaveBeenCalledTimes(1), WAIT);
    cp.setMode('ack'); // no kick(): only the retry timer can send again
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), WAIT);
    expect(cp.seqs(rec.sessionId)).toEqual([[0], [0]]);
    shipper.close();
  });

  it('keeps the batch when the control plane asks to retry, and sends it again later', async () => {
    const cp = controlPlane();
    cp.setMode('retry');
    const shipper = new RecordingShipper({ spoolDir: root, send: cp.send, log, retryMs: 10 });
    const rec = shipper.session(randomUUID());
    rec.record('pg.statement', { i: 0 });
    await vi.waitFor(() => expect(cp.send.mock.calls.length).toBeGreaterThanOrEqual(2), WAIT);
    expect(shipper.backlog()).toBe(1);
    cp.setMode('ack');
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), WAIT);
    shipper.close();
  });

  it('after an agent restart, a new shipper on the same directory resends what was not acknowledged, then deletes it', async () => {
    const id = randomUUID();
    const first = controlPlane();
    const a = new RecordingShipper({ spoolDir: root, send: first.send, log, retryMs: 10 });
    const rec = a.session(id);
    rec.record('pg.session', {});
    await vi.waitFor(() => expect(a.backlog()).toBe(0), WAIT); // seq 0 acknowledged
    first.setMode('offline');
    rec.record('pg.statement', { text: 'SELECT 1' });
    rec.record('pg.statement', { text: 'SELECT 2' });
    await rec.flushed();
    await vi.waitFor(() => expect(first.send.mock.calls.length).toBeGreaterThanOrEqual(2), WAIT);
    a.close(); // the agent stops with seq 1 and 2 unacknowledged

    const second = controlPlane();
    const b = new RecordingShipper({ spoolDir: root, send: second.send, log, retryMs: 10 });
    b.kick();
    await vi.waitFor(() => expect(second.send).toHaveBeenCalled(), WAIT);
    await vi.waitFor(() => expect(b.backlog()).toBe(0), WAIT);
    expect(second.seqs(id)).toEqual([[1, 2]]);
    expect(second.batches[0]?.events.map((e) => e.data['text'])).toEqual(['SELECT 1', 'SELECT 2']);
    // The left-over session is over: once everything is acknowledged its files are removed.
    await vi.waitFor(async () => expect(await readdir(join(root, 'recordings'))).toEqual([]), WAIT);
    b.close();
  });

  it('with a control plane that takes several sessions per message, sends them together and settles each', async () => {
    const messages: RecordingBatch[][] = [];
    const answers = new Map<string, RecordingAck>();
    const sendMany = vi.fn((batches: RecordingBatch[]) => {
      messages.push(structuredClone(batches));
      return Promise.resolve(batches.map((b) => answers.get(b.sessionId) ?? { ok: true as const, stored: b.events.length }));
    });
    const single = vi.fn(() => Promise.reject(new Error('not used')));
    const shipper = new RecordingShipper({ spoolDir: root, send: single, sendMany: () => sendMany, log, retryMs: 20, shipDelayMs: 10 });
    const [a, b, c] = [shipper.session(randomUUID()), shipper.session(randomUUID()), shipper.session(randomUUID())];
    answers.set(b.sessionId, { ok: false, error: 'database busy', retry: true });
    answers.set(c.sessionId, { ok: false, error: 'unknown session', retry: false });
    for (const rec of [a, b, c]) {
      rec.record('pg.statement', { text: 'SELECT 1' });
      rec.record('pg.statement', { text: 'SELECT 2' });
    }
    await vi.waitFor(() => expect(messages.length).toBeGreaterThanOrEqual(1), WAIT);
    expect(messages[0]?.map((batch) => [batch.sessionId, batch.events.map((e) => e.seq)])).toEqual([
      [a.sessionId, [0, 1]],
      [b.sessionId, [0, 1]],
      [c.sessionId, [0, 1]],
    ]);
    // b was asked to retry: sent again later, alone (a was stored, c dropped for good).
    answers.delete(b.sessionId);
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), WAIT);
    expect(messages.slice(1).flat().map((batch) => batch.sessionId)).toEqual(expect.arrayContaining([b.sessionId]));
    expect(messages.slice(1).flat().some((batch) => batch.sessionId !== b.sessionId)).toBe(false);
    expect(single).not.toHaveBeenCalled();
    shipper.close();
  });

  it('a busy agent ships once per ship delay with what accumulated, not once per round trip', async () => {
    const messages: number[] = [];
    const sendMany = vi.fn(async (batches: RecordingBatch[]) => {
      messages.push(batches.reduce((n, b) => n + b.events.length, 0));
      await new Promise((resolve) => setTimeout(resolve, 2)); // the control plane's round trip
      return batches.map((b) => ({ ok: true as const, stored: b.events.length }));
    });
    const shipper = new RecordingShipper({ spoolDir: root, send: vi.fn(), sendMany: () => sendMany, log, shipDelayMs: 150, flushIntervalMs: 1 });
    const rec = shipper.session(randomUUID());
    // A statement every millisecond for about 600 ms.
    for (let i = 0; i < 600; i++) {
      rec.record('pg.statement', { text: `SELECT ${i}` });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await vi.waitFor(() => expect(shipper.backlog()).toBe(0), WAIT);
    expect(messages.reduce((a, b) => a + b, 0)).toBe(600);
    // About one message per 150 ms (a round trip every 2 ms would have made hundreds).
    expect(messages.length).toBeLessThanOrEqual(12);
    shipper.close();
  });
});

