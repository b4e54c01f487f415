import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingEvent } from '@gw/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingJournal, openSegmentFile, type OpenSegmentFile } from './recording-journal.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-journal-spec-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

let seqs = new Map<string, number>();
beforeEach(() => {
  seqs = new Map();
});
function event(sessionId: string, data: Record<string, unknown> = {}): RecordingEvent {
  const seq = seqs.get(sessionId) ?? 0;
  seqs.set(sessionId, seq + 1);
  return { seq, at: new Date().toISOString(), type: 'pg.statement', data };
}

/** [sid, seq] of every journal line, oldest segment first. */
async function journalLines(): Promise<[string, number][]> {
  const out: [string, number][] = [];
  for (const name of (await readdir(root)).filter((n) => n.startsWith('journal-')).sort()) {
    for (const line of (await readFile(join(root, name), 'utf8')).split('\n')) {
      if (line === '') continue;
      const parsed = JSON.parse(line) as { sid?: string; seq: number };
      if (parsed.sid) out.push([parsed.sid, parsed.seq]);
    }
  }
  return out;
}

/** A segment opener whose fsyncs wait for the test to let them go (to see what a flush in progress does). */
function gatedFsync(): { openFile: OpenSegmentFile; waiting: () => number; releaseOne: () => void } {
  const gates: (() => void)[] = [];
  const openFile: OpenSegmentFile = async (path, flags) => {
    const file = await openSegmentFile(path, flags);
    return {
      ...file,
      datasync: async () => {
        await new Promise<void>((resolve) => gates.push(resolve));
        return file.datasync();
      },
    };
  };
  return { openFile, waiting: () => gates.length, releaseOne: () => gates.shift()?.() };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));
const settledState = (p: Promise<void>) => Promise.race([p.then(() => 'resolved', () => 'rejected'), tick().then(() => 'pending')]);

describe('RecordingJournal group commit', () => {
  it('calls afterRelease once the waiters of a flush someone waited for have run, not after timed flushes', async () => {
    const seen: string[] = [];
    const journal = new RecordingJournal(root, 50, undefined, { durability: 'write', afterRelease: () => seen.push('after release') });
    // A waiter whose reaction runs a few promise hops later, as the held answer's release does.
    void journal.append('s1', event('s1')).then(() => undefined).then(() => seen.push('released s1'));
    void journal.append('s2', event('s2')).then(() => seen.push('released s2'));
    await journal.sync();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['released s2', 'released s1', 'after release']);
    // A record nobody waits for is written by the timed flush: no call.
    void journal.append('s1', event('s1'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(journal.stats.flushes).toBeGreaterThanOrEqual(2);
    expect(seen.filter((s) => s === 'after release')).toHaveLength(1);
    await journal.close();
  });

  it('coalesces the records of every session appended in one turn into one write and one fdatasync', async () => {
    const journal = new RecordingJournal(root, 1000);
    const sessions = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const writes = sessions.flatMap((sid) => [journal.append(sid, event(sid)), journal.append(sid, event(sid))]);
    await Promise.all([...writes, journal.sync()]);
    expect(journal.stats).toMatchObject({ flushes: 1, datasyncs: 1, failedFlushes: 0 });
    expect(await journalLines()).toEqual(sessions.flatMap((sid) => [[sid, 0], [sid, 1]]));
    await journal.close();
  });

  it('flushes as soon as someone waits for durability, not when the flush interval is over', async () => {
    const journal = new RecordingJournal(root, 1000); // the longest interval the config allows
    const sid = randomUUID();
    const lazy = journal.append(sid, event(sid));
    await tick();
    expect(await settledState(lazy)).toBe('pending'); // nobody waits: the timer decides
    const started = Date.now();
    await journal.sync();
    expect(Date.now() - started).toBeLessThan(500);
    expect(await settledState(lazy)).toBe('resolved'); // it shared the flush
    expect(await journalLines()).toEqual([[sid, 0]]);
    await journal.close();
  });

  it('in write durability, a waited-for flush stops at the file (no fsync); the timed flush one interval later fsyncs it', async () => {
    const journal = new RecordingJournal(root, 50, undefined, { durability: 'write' });
    const sid = randomUUID();
    const appended = journal.append(sid, event(sid));
    await journal.sync();
    await appended;
    expect(journal.stats).toMatchObject({ flushes: 1, datasyncs: 0 });
    expect(await journalLines()).toEqual([[sid, 0]]); // in the file: an agent crash cannot lose it
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(journal.stats).toMatchObject({ datasyncs: 1 });
    await journal.close();
  });

  it('puts records appended during a flush into the next one, which starts right after it, and releases them in order', async () => {
    const gate = gatedFsync();
    const journal = new RecordingJournal(root, 1000, undefined, { openFile: gate.openFile });
    const [a, b] = [randomUUID(), randomUUID()];
    const order: string[] = [];
    const first = journal.append(a, event(a)).then(() => order.push('a0'));
    void journal.sync();
    await expect.poll(gate.waiting).toBe(1); // flush 1 is in its fsync
    const during = [journal.append(b, event(b)).then(() => order.push('b0')), journal.append(a, event(a)).then(() => order.push('a1'))];
    void journal.sync();
    await tick();
    expect(journal.stats.flushes).toBe(1); // one flush at a time
    expect(order).toEqual([]);
    gate.releaseOne();
    await first;
    await expect.poll(gate.waiting).toBe(1); // flush 2 started at once, without a timer
    expect(order).toEqual(['a0']);
    gate.releaseOne();
    await Promise.all(during);
    expect(order).toEqual(['a0', 'b0', 'a1']);
    expect(journal.stats).toMatchObject({ flushes: 2, datasyncs: 2 });
    expect(await journalLines()).toEqual([[a, 0], [b, 0], [a, 1]]);
    await journal.close();
  });

  it('acknowledgements alone are written without an fsync', async () => {
    const journal = new RecordingJournal(root, 5);
    const sid = randomUUID();
    await Promise.all([journal.append(sid, event(sid)), journal.sync()]);
    journal.ack(sid, 0);
    await journal.flushed();
    expect(journal.stats).toMatchObject({ flushes: 2, datasyncs: 1 });
    await journal.close();
  });

  const failures: { name: string; failing: 'open' | 'write' | 'datasync'; error: string }[] = [
    { name: 'the fsync fails (EIO)', failing: 'datasync', error: 'EIO: i/o error, fdatasync' },
    { name: 'the write fails (ENOSPC)', failing: 'write', error: 'ENOSPC: no space left on device, write' },
    { name: 'a new segment cannot be created (EACCES)', failing: 'open', error: 'EACCES: permission denied, open' },
  ];

  it.each(failures)('fails closed when $name: every appender of that flush is rejected; the next flush writes them again, into a new segment', async ({ failing, error }) => {
    let failuresLeft = 1;
    const fail = () => {
      if (failuresLeft-- > 0) throw Object.assign(new Error(error), { code: error.split(':')[0] });
    };
    const openFile: OpenSegmentFile = async (path, flags) => {
      if (failing === 'open') fail();
      const file = await openSegmentFile(path, flags);
      return {
        ...file,
        writeSync: (bytes: Buffer) => {
          if (failing === 'write' && failuresLeft > 0) {
            file.writeSync(bytes.subarray(0, 7)); // a torn line, as a full disk leaves it
            fail();
          }
          file.writeSync(bytes);
        },
        datasync: async () => {
          if (failing === 'datasync') fail();
          return file.datasync();
        },
      };
    };
    const journal = new RecordingJournal(root, 10, undefined, { openFile });
    const [a, b] = [randomUUID(), randomUUID()];
    const lost = [journal.append(a, event(a)), journal.append(b, event(b))];
    void journal.sync();
    for (const p of lost) await expect(p).rejects.toThrow(error);
    expect(journal.stats.failedFlushes).toBe(1);

    // The disk works again: the failed records and a new one become durable, once each after a restart.
    const later = journal.append(a, event(a));
    await journal.sync();
    await later;
    await journal.close();
    const restored = await new RecordingJournal(root).restore(100);
    const bySession = new Map(restored.map((s) => [s.sessionId, s.events.map((e) => e.seq)]));
    expect(bySession.get(a)).toEqual([0, 1]);
    expect(bySession.get(b)).toEqual([0]);
    // The segment that failed held nothing else: once its records were written again it was deleted.
    expect((await journalLines()).filter(([sid]) => sid === a)).toEqual([[a, 0], [a, 1]]);
  });

  it('serializes an event at the flush, not at the append: the object is written as it is then', async () => {
    const journal = new RecordingJournal(root, 1000);
    const sid = randomUUID();
    const e = event(sid, { text: 'SELECT 1' });
    const written = journal.append(sid, e);
    e.data['rowCount'] = 1; // nothing has been encoded yet
    await Promise.all([written, journal.sync()]);
    const text = await readFile(join(root, (await readdir(root)).find((n) => n.startsWith('journal-'))!), 'utf8');
    expect(JSON.parse(text.trim())).toMatchObject({ sid, seq: 0, data: { text: 'SELECT 1', rowCount: 1 } });
    await journal.close();
  });
});
