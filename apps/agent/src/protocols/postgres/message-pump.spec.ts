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

/** A pump over comma-separated messages whose handler returns `hooks[message]()` when there is one. */
function commaPump(hooks: Record<string, () => void | Promise<void>> = {}) {
  const source = { paused: 0, resumed: 0, pause: () => void source.paused++, resume: () => void source.resumed++ };
  const output = { corked: 0, cork: () => void output.corked++, uncork: () => void output.corked-- };
  const seen: string[] = [];
  const errors: unknown[] = [];
  const pump = new MessagePump<string>(
    source,
    (chunk) => chunk.toString().split(',').filter(Boolean),
    (message) => {
      seen.push(message);
      return hooks[message]?.();
    },
    (error) => errors.push(error),
    output,
  );
  return { pump, source, output, seen, errors };
}

describe('MessagePump order and holds', () => {
  it('handles a chunk of synchronous messages before push() returns, output corked only meanwhile', () => {
    const { pump, output, seen } = commaPump();
    pump.push(Buffer.from('a,b,'));
    pump.push(Buffer.from('c,'));
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(output.corked).toBe(0);
  });

  it('holds the source and the rest of the chunk while a handler waits, then goes on in order', async () => {
    let finish!: () => void;
    const waiting = new Promise<void>((resolve) => (finish = resolve));
    const { pump, source, output, seen } = commaPump({ b: () => waiting });
    pump.push(Buffer.from('a,b,c,'));
    pump.push(Buffer.from('d,'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(seen).toEqual(['a', 'b']);
    expect(source.paused).toBe(1);
    expect(output.corked).toBe(1); // the chunk's output leaves together, after its last message
    finish();
    await vi.waitFor(() => expect(seen).toEqual(['a', 'b', 'c', 'd']));
    expect(source.resumed).toBe(1);
    expect(output.corked).toBe(0);
    pump.push(Buffer.from('e,'));
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']); // synchronous again
  });

  it('stops at a handler that throws, reports it once, and ignores later chunks', async () => {
    const { pump, output, seen, errors } = commaPump({
      b: () => {
        throw new Error('bad message');
      },
    });
    pump.push(Buffer.from('a,b,c,'));
    pump.push(Buffer.from('d,'));
    await Promise.resolve();
    expect(seen).toEqual(['a', 'b']);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('bad message');
    expect(output.corked).toBe(0);
  });

  it('stops at a handler whose promise rejects and reports it once', async () => {
    const { pump, seen, errors } = commaPump({ b: () => Promise.reject(new Error('lookup failed')) });
    pump.push(Buffer.from('a,b,c,'));
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    pump.push(Buffer.from('d,'));
    expect(seen).toEqual(['a', 'b']);
  });
});
