import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { MessagePump } from './message-pump.js';

/** A writable that accepts little before asking the writer to wait, and takes everything once opened. */
function slowOutput() {
  const pending: (() => void)[] = [];
  let open = false;
  const output = new Writable({
    highWaterMark: 16,
    write(_chunk, _encoding, done) {
      if (open) done();
      else pending.push(done);
    },
  });
  return {
    output,
    drainAll: () => {
      open = true;
      pending.splice(0).forEach((done) => done());
    },
  };
}

describe('MessagePump backpressure', () => {
  it('resumes the source after one drain however many writes filled the output (a COPY of many messages per chunk)', async () => {
    const source = new PassThrough();
    const { output, drainAll } = slowOutput();
    const seen: string[] = [];
    const pump: MessagePump<string> = new MessagePump(
      source,
      (chunk) => chunk.toString().split(',').filter(Boolean),
      (message) => {
        seen.push(message);
        if (!output.write(`${message}-payload-longer-than-the-mark`)) pump.waitForDrain(output);
      },
      (error) => {
        throw error;
      },
    );
    source.on('data', (chunk: Buffer) => pump.push(chunk));
    source.write('a,b,c,d,e,');
    await vi.waitFor(() => expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']));
    expect(source.isPaused()).toBe(true);
    source.write('f,g,');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toHaveLength(5); // held while the output is full
    drainAll();
    await vi.waitFor(() => expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']));
    await vi.waitFor(() => expect(source.isPaused()).toBe(false));
  });
});
