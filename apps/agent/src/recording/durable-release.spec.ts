import { describe, expect, it } from 'vitest';
import { deferred } from '../../test/support/deferred.js';
import { DurableReleaseQueue } from './durable-release.js';

function harness(maxHeldBytes?: number) {
  const written: string[] = [];
  const calls: string[] = [];
  const failures: unknown[] = [];
  const queue = new DurableReleaseQueue({
    write: (bytes) => written.push(bytes.toString()),
    cork: () => undefined,
    uncork: () => undefined,
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
    failed: (error) => failures.push(error),
  }, maxHeldBytes);
  return { queue, written, calls, failures, send: (text: string) => queue.write(Buffer.from(text)) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('DurableReleaseQueue', () => {
  it('passes bytes straight through while no record is waiting for its flush', () => {
    const h = harness();
    h.send('row1');
    h.send('row2');
    expect(h.written).toEqual(['row1', 'row2']);
  });

  it('within a batch, bytes leave as one write at its end; a barrier in the batch holds the batch\'s earlier bytes too', async () => {
    const h = harness();
    h.queue.beginBatch();
    h.send('row1');
    h.send('row2');
    expect(h.written).toEqual([]);
    h.queue.endBatch();
    expect(h.written).toEqual(['row1row2']);

    const flush = deferred();
    h.queue.beginBatch();
    h.send('row3');
    h.queue.barrier(flush.promise);
    h.send('end');
    h.queue.endBatch();
    h.send('next');
    await turn();
    expect(h.written).toEqual(['row1row2']);
    flush.resolve();
    await turn();
    // What was held leaves as one write.
    expect(h.written.join('|')).toBe('row1row2|row3endnext');
  });

  it('holds everything written after a barrier until that record is durable, then releases it in order', async () => {
    const h = harness();
    const flush = deferred();
    h.send('DataRow');
    h.queue.barrier(flush.promise);
    h.send('CommandComplete');
    h.send('ReadyForQuery');
    await turn();
    expect(h.written).toEqual(['DataRow']);
    expect(h.queue.held).toBe('CommandComplete'.length + 'ReadyForQuery'.length);
    flush.resolve();
    await turn();
    expect(h.written).toEqual(['DataRow', 'CommandCompleteReadyForQuery']);
    h.send('next');
    expect(h.written.at(-1)).toBe('next');
  });

  it('never releases past an earlier barrier that is still waiting, even when a later one settled first', async () => {
    const h = harness();
    const [first, second] = [deferred(), deferred()];
    h.queue.barrier(first.promise);
    h.send('end of statement 1');
    h.queue.barrier(second.promise);
    h.send('end of statement 2');
    second.resolve();
    await turn();
    expect(h.written).toEqual([]);
    first.resolve();
    await turn();
    expect(h.written).toEqual(['end of statement 1end of statement 2']);
  });

  it('pauses the source once more than the bound is held, and resumes it when the held bytes are released', async () => {
    const h = harness(10);
    const flush = deferred();
    h.queue.barrier(flush.promise);
    for (let i = 0; i < 5; i++) h.send('0123456789');
    expect(h.calls).toEqual(['pause']); // once, however many writes go over the bound
    flush.resolve();
    await turn();
    expect(h.calls).toEqual(['pause', 'resume']);
    expect(h.written).toEqual(['0123456789'.repeat(5)]);
  });

  it('joins what it releases into writes of at most 64 KiB, in order', async () => {
    const h = harness(4 * 1024 * 1024);
    const flush = deferred();
    h.queue.barrier(flush.promise);
    const pieces = Array.from({ length: 30 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(10 * 1024 + i));
    for (const piece of pieces) h.send(piece);
    flush.resolve();
    await turn();
    expect(h.written.join('')).toBe(pieces.join(''));
    expect(h.written.length).toBeGreaterThan(4);
    for (const write of h.written) expect(write.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('fails closed: when a record cannot be made durable, nothing held (nor written later) reaches the client', async () => {
    const h = harness();
    const [ok, broken, later] = [deferred(), deferred(), deferred()];
    h.queue.barrier(ok.promise);
    h.send('statement 1 done');
    h.queue.barrier(broken.promise);
    h.send('statement 2 done');
    h.queue.barrier(later.promise);
    h.send('statement 3 done');
    broken.reject(new Error('EIO: i/o error, fdatasync'));
    ok.resolve();
    later.resolve();
    await turn();
    expect(h.written).toEqual([]);
    expect(h.failures).toHaveLength(1);
    expect(String(h.failures[0])).toContain('EIO');
    h.send('anything');
    expect(h.written).toEqual([]);
  });
});

describe('DurableReleaseQueue at the end of a session', () => {
  it('drained() waits for held bytes to be released (the database\'s last words reach the client, in order)', async () => {
    const h = harness();
    const flush = deferred();
    h.queue.barrier(flush.promise);
    h.send('FATAL terminating connection due to administrator command');
    let drained = false;
    void h.queue.drained().then(() => (drained = true));
    await turn();
    expect(drained).toBe(false);
    flush.resolve();
    await turn();
    expect(drained).toBe(true);
    expect(h.written).toEqual(['FATAL terminating connection due to administrator command']);
  });

  it('drained() settles without releasing anything when the record fails', async () => {
    const h = harness();
    const flush = deferred();
    h.queue.barrier(flush.promise);
    h.send('result');
    const drained = h.queue.drained();
    flush.reject(new Error('EIO'));
    await drained;
    expect(h.written).toEqual([]);
    expect(h.failures).toHaveLength(1);
  });
});
