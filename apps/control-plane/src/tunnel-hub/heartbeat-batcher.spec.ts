import { describe, expect, it } from 'vitest';
import { HeartbeatBatcher } from './heartbeat-batcher.js';

describe('HeartbeatBatcher', () => {
  it('writes each marked agent once per flush, and keeps a failed batch for the next one', async () => {
    const writes: string[][] = [];
    let fail = true;
    const errors: unknown[] = [];
    const batcher = new HeartbeatBatcher((ids) => {
      if (fail) return Promise.reject(new Error('database restarting'));
      writes.push([...ids].sort());
      return Promise.resolve();
    }, 60_000, (e) => errors.push(e));
    batcher.mark('a');
    batcher.mark('b');
    batcher.mark('a');
    await batcher.flush();
    expect(writes).toEqual([]);
    expect(errors).toHaveLength(1);
    fail = false;
    batcher.mark('c');
    await batcher.flush();
    expect(writes).toEqual([['a', 'b', 'c']]);
    await batcher.flush(); // nothing marked: no write
    expect(writes).toHaveLength(1);
    batcher.stop();
  });
});
