import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { memoryLink } from '../test/support/memory-link.js';
import { digestStream, writeGenerated } from '../test/support/bytes.js';
import { StreamOpenRejectedError, StreamResetError } from './codes.js';
import type { StreamHandler } from './endpoint-options.js';
import { TunnelClosedError, TunnelError } from './errors.js';
import { DEFAULT_INITIAL_WINDOW, MAX_FRAME_PAYLOAD } from './limits.js';
import type { StreamOpenHeaderInput } from './open-header.js';
import type { TunnelStream } from './stream.js';

const header = (resource = 'orders-db'): StreamOpenHeaderInput => ({
  grant: 'grant-token',
  resource,
  protocol: 'postgres',
  client: { applicationName: 'psql' },
});

/** Agent handler that echoes every stream back (with backpressure, via pipe). */
function echoStream(accept: () => TunnelStream): void {
  const stream = accept();
  stream.on('error', () => undefined);
  stream.pipe(stream);
}
const echo: StreamHandler = (_header, accept) => echoStream(accept);

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('TunnelEndpoint: opening streams', () => {
  it('delivers the header to the agent and resolves on OPEN_OK', async () => {
    const seen: unknown[] = [];
    const link = memoryLink({}, { onStream: (h, accept) => (seen.push(h), void accept()) });
    const stream = await link.cp.openStream(header());
    expect(stream.id).toBe(1);
    expect(seen).toEqual([{ ...header(), client: { applicationName: 'psql' } }]);
    expect(link.cp.stats()).toMatchObject({ openStreams: 1, streamsOpened: 1, pendingOpens: 0 });
    expect(link.agent.stats()).toMatchObject({ openStreams: 1, streamsOpened: 1 });
    const second = await link.cp.openStream(header());
    expect(second.id).toBe(2);
  });

  it("rejects with the agent's OPEN_ERROR code and reason", async () => {
    const link = memoryLink({}, { onStream: (_h, _accept, reject) => reject('GRANT_INVALID', 'grant expired') });
    const error = await link.cp.openStream(header()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamOpenRejectedError);
    expect(error).toMatchObject({ codeName: 'GRANT_INVALID', reason: 'grant expired' });
    expect(link.cp.stats()).toMatchObject({ openStreams: 0, pendingOpens: 0, opensRefused: 1 });
  });

  it('answers INTERNAL when the handler throws or its promise rejects, and NO_HANDLER without one', async () => {
    const throwing = memoryLink({}, { onStream: () => { throw new Error('boom'); } });
    await expect(throwing.cp.openStream(header())).rejects.toMatchObject({ codeName: 'INTERNAL' });
    const rejecting = memoryLink({}, { onStream: () => Promise.reject(new Error('async boom')) });
    await expect(rejecting.cp.openStream(header())).rejects.toMatchObject({ codeName: 'INTERNAL' });
    const none = memoryLink();
    await expect(none.cp.openStream(header())).rejects.toMatchObject({ codeName: 'NO_HANDLER' });
  });

  it('accepts asynchronously, after the handler did its checks', async () => {
    const link = memoryLink({}, {
      onStream: async (_h, accept) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        echoStream(accept);
      },
    });
    const stream = await link.cp.openStream(header());
    stream.end('hello');
    const { bytes } = await digestStream(stream);
    expect(bytes).toBe(5);
  });

  it('only lets the control-plane side open streams', async () => {
    const link = memoryLink();
    await expect(link.agent.openStream(header())).rejects.toMatchObject({ code: 'NOT_ALLOWED' });
  });

  it('caps concurrent streams on both sides', async () => {
    const agentCapped = memoryLink({}, { onStream: echo, maxStreams: 2 });
    await agentCapped.cp.openStream(header());
    await agentCapped.cp.openStream(header());
    await expect(agentCapped.cp.openStream(header())).rejects.toMatchObject({ codeName: 'TOO_MANY_STREAMS' });

    const cpCapped = memoryLink({ maxStreams: 1 }, { onStream: echo });
    await cpCapped.cp.openStream(header());
    await expect(cpCapped.cp.openStream(header())).rejects.toMatchObject({ code: 'TOO_MANY_STREAMS' });
  });

  it('caps pending opens, times them out, and cancels the agent side', async () => {
    const signals: AbortSignal[] = [];
    const link = memoryLink({ maxPendingOpens: 2, openTimeoutMs: 100 }, { onStream: (_h, _a, _r, ctx) => void signals.push(ctx.signal) });
    const first = link.cp.openStream(header()).catch((e: unknown) => e);
    const second = link.cp.openStream(header()).catch((e: unknown) => e);
    await expect(link.cp.openStream(header())).rejects.toMatchObject({ code: 'TOO_MANY_PENDING_OPENS' });
    expect(await first).toMatchObject({ code: 'OPEN_TIMEOUT' });
    expect(await second).toMatchObject({ code: 'OPEN_TIMEOUT' });
    await waitFor(() => signals.length === 2 && signals.every((s) => s.aborted), 'agent-side cancellation');
    expect(link.agent.stats().pendingOpens).toBe(0);
    expect(link.cp.stats().violations).toBe(0);
  });

  it('makes a late accept() fail clearly once the open was cancelled', async () => {
    let lateAccept: (() => TunnelStream) | undefined;
    const link = memoryLink({ openTimeoutMs: 50 }, { onStream: (_h, accept) => void (lateAccept = accept) });
    await expect(link.cp.openStream(header())).rejects.toMatchObject({ code: 'OPEN_TIMEOUT' });
    await waitFor(() => link.agent.stats().pendingOpens === 0, 'cancellation');
    expect(() => lateAccept!()).toThrow(TunnelError);
    expect(() => lateAccept!()).toThrow(/cancelled/);
  });
});

describe('TunnelEndpoint: data, half-close and reset', () => {
  it('half-closes each direction independently', async () => {
    const agentSide: Promise<string> = new Promise((resolve) => {
      const link = memoryLink({}, {
        onStream: (_h, accept) => {
          const stream = accept();
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => parts.push(c));
          stream.on('end', () => {
            // The client finished sending; the agent can still answer.
            stream.end(`got ${Buffer.concat(parts).toString()}`);
            resolve('agent saw end');
          });
        },
      });
      void (async () => {
        const stream = await link.cp.openStream(header());
        stream.end('query');
        const reply: Buffer[] = [];
        stream.on('data', (c: Buffer) => reply.push(c));
        await once(stream, 'end');
        expect(Buffer.concat(reply).toString()).toBe('got query');
        await waitFor(() => link.cp.stats().openStreams === 0 && link.agent.stats().openStreams === 0, 'both sides closed');
      })();
    });
    expect(await agentSide).toBe('agent saw end');
  });

  it('surfaces a RESET as an error with code and reason on the other side', async () => {
    const link = memoryLink({}, {
      onStream: (_h, accept) => {
        const stream = accept();
        stream.on('error', () => undefined);
        stream.once('data', () => stream.reset(4, 'upstream database went away'));
      },
    });
    const stream = await link.cp.openStream(header());
    stream.write('SELECT 1');
    const [error] = (await once(stream, 'error')) as [StreamResetError];
    expect(error).toBeInstanceOf(StreamResetError);
    expect(error).toMatchObject({ codeName: 'INTERNAL', reason: 'upstream database went away', byPeer: true });
    expect(link.cp.stats().openStreams).toBe(0);
  });

  it('resets the peer when a stream is destroyed locally', async () => {
    const agentErrors: Error[] = [];
    const link = memoryLink({}, {
      onStream: (_h, accept) => {
        const s = accept();
        s.on('error', (e) => agentErrors.push(e));
        s.resume();
      },
    });
    const stream = await link.cp.openStream(header());
    stream.destroy();
    await waitFor(() => agentErrors.length === 1, 'agent-side error');
    expect(agentErrors[0]).toMatchObject({ codeName: 'CANCEL' });
    expect(link.agent.stats().openStreams).toBe(0);
  });

  it('carries 100 MiB through one stream intact (SHA-256)', async () => {
    const link = memoryLink({}, { onStream: (_h, accept) => void digests.push(digestStream(accept())) });
    const digests: Promise<{ sha256: string; bytes: number }>[] = [];
    const stream = await link.cp.openStream(header());
    const total = 100 * 1024 * 1024;
    const sent = await writeGenerated(stream, total, 42, 256 * 1024);
    await waitFor(() => digests.length === 1, 'agent stream');
    const received = await digests[0]!;
    expect(received).toEqual({ sha256: sent, bytes: total });
    // Flow control held throughout: the transport never carried much more than a window.
    expect(link.toAgent.maxQueuedBytes).toBeLessThanOrEqual(DEFAULT_INITIAL_WINDOW + 4 * (MAX_FRAME_PAYLOAD + 10));
  }, 60_000);

  it('runs 200 concurrent echo streams with intact payloads', async () => {
    // All 200 opens are issued at once, so the pending-open cap (default 128) is raised.
    const link = memoryLink({ maxPendingOpens: 200 }, { onStream: echo, maxPendingOpens: 200 });
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const stream = await link.cp.openStream(header(`db-${i}`));
        const received = digestStream(stream);
        const sent = await writeGenerated(stream, 50_000 + i * 997, i, 16 * 1024);
        return { sent, received: (await received).sha256 };
      }),
    );
    for (const r of results) expect(r.received).toBe(r.sent);
    await waitFor(() => link.cp.stats().openStreams === 0 && link.agent.stats().openStreams === 0, 'all streams closed');
    expect(link.cp.stats().violations + link.agent.stats().violations).toBe(0);
  }, 30_000);

  it('keeps a slow reader within one window while another stream keeps flowing', async () => {
    const slow: TunnelStream[] = [];
    const link = memoryLink({}, {
      onStream: (h, accept) => {
        if (h.resource === 'slow') slow.push(accept()); // never read: the consumer is stuck
        else echoStream(accept);
      },
    });
    const slowStream = await link.cp.openStream(header('slow'));
    let maxWritable = 0;
    let finishedWriting = false;
    // The writer respects backpressure; it must be held back once the window is spent.
    const writer = writeGenerated(slowStream, 8 * 1024 * 1024, 7, 16 * 1024).then(() => (finishedWriting = true));
    const sampler = setInterval(() => (maxWritable = Math.max(maxWritable, slowStream.writableLength)), 1);

    const fast = await link.cp.openStream(header('fast'));
    const fastReceived = digestStream(fast);
    const fastSent = await writeGenerated(fast, 4 * 1024 * 1024, 8, 32 * 1024);
    expect((await fastReceived).sha256).toBe(fastSent);

    const agentSlow = slow[0]!;
    expect(finishedWriting).toBe(false);
    // Sender side: everything it sent is what the receiver granted, nothing more.
    expect(slowStream.bytesSent).toBeLessThanOrEqual(DEFAULT_INITIAL_WINDOW);
    expect(slowStream.bytesSent).toBeGreaterThan(0);
    expect(maxWritable).toBeLessThanOrEqual(64 * 1024 + MAX_FRAME_PAYLOAD);
    // Receiver side: buffered bytes bounded by the window.
    expect(agentSlow.bufferedInbound).toBeLessThanOrEqual(DEFAULT_INITIAL_WINDOW);
    expect(agentSlow.bytesReceived).toBe(slowStream.bytesSent);

    // Once the reader wakes up, everything arrives intact.
    const slowReceived = digestStream(agentSlow);
    await writer;
    clearInterval(sampler);
    expect((await slowReceived).bytes).toBe(8 * 1024 * 1024);
  }, 30_000);
});

describe('TunnelEndpoint: teardown', () => {
  it('close() destroys every stream and pending open with a TunnelClosedError', async () => {
    const link = memoryLink({}, { onStream: (h, accept) => (h.resource === 'hang' ? undefined : void accept()) });
    const streams = await Promise.all([link.cp.openStream(header()), link.cp.openStream(header())]);
    const pending = link.cp.openStream(header('hang')).catch((e: unknown) => e);
    await nextTick();
    const errors = streams.map((s) => once(s, 'error').then(([e]) => e as Error));
    link.cp.close('shutting down');
    link.cp.close('twice');
    for (const error of await Promise.all(errors)) {
      expect(error).toBeInstanceOf(TunnelClosedError);
      expect(error.message).toBe('tunnel closed: shutting down');
    }
    expect(await pending).toBeInstanceOf(TunnelClosedError);
    await expect(link.cp.openStream(header())).rejects.toBeInstanceOf(TunnelClosedError);
    expect(link.cp.stats()).toMatchObject({ openStreams: 0, pendingOpens: 0 });
  });

  it('transport loss tears down both ends and calls onClose once', async () => {
    const closes: string[] = [];
    const link = memoryLink(
      { onClose: (e) => closes.push(`cp: ${e.reason}`) },
      { onStream: echo, onClose: (e) => closes.push(`agent: ${e.reason}`) },
    );
    const stream = await link.cp.openStream(header());
    const error = once(stream, 'error');
    link.cut('socket disconnected');
    expect((await error)[0]).toBeInstanceOf(TunnelClosedError);
    expect(closes).toEqual(['cp: socket disconnected', 'agent: socket disconnected']);
    expect(link.agent.stats().openStreams).toBe(0);
  });

  it('keepalive: answers PINGs, and closes the tunnel when PONGs stop', async () => {
    let cpClosed: TunnelClosedError | undefined;
    const link = memoryLink(
      { keepalive: { intervalMs: 20, timeoutMs: 250 }, onClose: (e) => (cpClosed = e) },
      { onStream: echo },
    );
    const stream = await link.cp.openStream(header());
    const error = once(stream, 'error');
    // Several PING/PONG rounds pass while the peer answers.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(cpClosed).toBeUndefined();
    expect(link.agent.stats().framesOut).toBeGreaterThan(5); // PONGs
    // The agent goes silent (a half-dead connection): nothing comes back any more.
    link.toCp.blocked = true;
    const [reason] = (await error) as [TunnelClosedError];
    expect(reason).toBeInstanceOf(TunnelClosedError);
    expect(reason.reason).toMatch(/keepalive timeout/);
    expect(cpClosed).toBe(reason);
    expect(link.cp.stats().openStreams).toBe(0);
  });
});
