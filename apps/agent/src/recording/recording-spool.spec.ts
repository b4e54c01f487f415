import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingAck, RecordingBatch } from '@gw/contracts';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecordingShipper, nextBatch } from './recording-shipper.js';
import { SessionSpool } from './recording-spool.js';

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

async function lines(file: string): Promise<{ seq: number; type: string }[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { seq: number; type: string });
}

describe('SessionSpool', () => {
  it('appends events with consecutive seq numbers, each fsynced to one JSONL line', async () => {
    const spool = new SessionSpool(randomUUID(), root);
    await Promise.all([spool.append('pg.session', { a: 1 }), spool.append('pg.statement', { text: 'SELECT 1' }), spool.append('pg.statement', { text: 'SELECT 2' })]);
    expect(spool.pending.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect((await lines(spool.file)).map((e) => [e.seq, e.type])).toEqual([
      [0, 'pg.session'],
      [1, 'pg.statement'],
      [2, 'pg.statement'],
    ]);
  });

  it('an ack drops what it covers from memory and is remembered on disk; a stale ack does not go back', async () => {
    const id = randomUUID();
    const spool = new SessionSpool(id, root);
    for (let i = 0; i < 4; i++) await spool.append('pg.statement', { i });
    await spool.ack(1);
    expect(spool.pending.map((e) => e.seq)).toEqual([2, 3]);
    expect(await readFile(join(root, `${id}.ack`), 'utf8')).toBe('1');
    await spool.ack(0);
    expect(spool.acked).toBe(1);
    expect(spool.pending.map((e) => e.seq)).toEqual([2, 3]);
  });

  it('after a restart, restores exactly the unacknowledged events with their original seq numbers', async () => {
    const id = randomUUID();
    const before = new SessionSpool(id, root);
    for (let i = 0; i < 5; i++) await before.append('pg.statement', { i });
    await before.ack(2);
    const [after, ...others] = await SessionSpool.restore(root);
    expect(others).toHaveLength(0);
    expect(after?.sessionId).toBe(id);
    expect(after?.pending.map((e) => [e.seq, e.data['i']])).toEqual([
      [3, 3],
      [4, 4],
    ]);
    // Numbering continues after the last seq on disk: a later event can never reuse a seq.
    expect(after?.nextSeq).toBe(5);
    expect(after?.ended).toBe(true);
  });

  it('skips a torn last line left by a crash', async () => {
    const id = randomUUID();
    const spool = new SessionSpool(id, root);
    await spool.append('pg.statement', { i: 0 });
    const { appendFile } = await import('node:fs/promises');
    await appendFile(spool.file, '{"seq":1,"at":"2025-');
    const [restored] = await SessionSpool.restore(root);
    expect(restored?.pending.map((e) => e.seq)).toEqual([0]);
  });

  it('group-commits: appends of one flush interval become durable together; the file is closed when idle and reopened', async () => {
    const { readdirSync, readlinkSync } = await import('node:fs');
    const openOnFile = (file: string) => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === file;
      } catch {
        return false;
      }
    }).length;
    const spool = new SessionSpool(randomUUID(), root, 50, 100);
    const first = spool.append('pg.statement', { i: 0 });
    const second = spool.append('pg.statement', { i: 1 });
    expect(spool.durableSeq).toBe(-1); // nothing is durable before its flush
    await Promise.all([first, second]);
    expect(spool.durableSeq).toBe(1);
    expect(openOnFile(spool.file)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(openOnFile(spool.file)).toBe(0);
    await spool.append('pg.statement', { i: 2 });
    expect((await lines(spool.file)).map((e) => e.seq)).toEqual([0, 1, 2]);
    await spool.close();
  });

  it('deletes its files once an ended session is fully acknowledged', async () => {
    const id = randomUUID();
    const spool = new SessionSpool(id, root);
    await spool.append('pg.statement', {});
    await spool.append('pg.end', {});
    await spool.ack(1);
    expect(await readdir(root)).toEqual([]);
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
});
