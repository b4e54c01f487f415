import { describe, expect, it } from 'vitest';
import type { SessionRecorder } from '../../recording/recording-shipper.js';
import { IoRecorder, type IoFrame } from './io-recorder.js';

function recorder(): SessionRecorder & { events: { type: string; data: Record<string, unknown> }[] } {
  const events: { type: string; data: Record<string, unknown> }[] = [];
  return { sessionId: 's', events, record: (type, data) => events.push({ type, data }), recordDurable: (type, data) => Promise.resolve(void events.push({ type, data })), flushed: () => Promise.resolve() };
}

describe('IoRecorder', () => {
  it('keeps a UTF-8 character whole when a chunk boundary cuts it, and keeps frame order and kinds', () => {
    const rec = recorder();
    const io = new IoRecorder(rec, 1, 1024);
    const euro = Buffer.from('€'); // 3 bytes
    io.data('o', Buffer.concat([Buffer.from('price: '), euro.subarray(0, 1)]));
    io.data('i', Buffer.from('q'));
    io.data('o', euro.subarray(1));
    io.resize(120, 40);
    io.data('e', Buffer.from('warn\n'));
    io.close();
    const frames = rec.events.filter((e) => e.type === 'ssh.io').flatMap((e) => e.data['frames'] as IoFrame[]);
    expect(frames.map(([, kind, data]) => [kind, data])).toEqual([['o', 'price: '], ['i', 'q'], ['o', '€'], ['r', '120x40'], ['e', 'warn\n']]);
    const times = frames.map(([t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('batches frames into few events, and past the limit counts what it dropped', () => {
    const rec = recorder();
    const io = new IoRecorder(rec, 7, 40 * 1024);
    for (let i = 0; i < 100; i++) io.data('o', Buffer.alloc(1024, 0x61));
    io.close();
    const ioEvents = rec.events.filter((e) => e.type === 'ssh.io');
    expect(ioEvents.length).toBeLessThanOrEqual(3);
    const kept = ioEvents.flatMap((e) => e.data['frames'] as IoFrame[]).reduce((n, [, , d]) => n + d.length, 0);
    expect(kept).toBe(40 * 1024);
    expect(rec.events.at(-1)).toEqual({ type: 'ssh.io.truncated', data: { channel: 7, droppedBytes: 60 * 1024, limitBytes: 40 * 1024 } });
  });
});
