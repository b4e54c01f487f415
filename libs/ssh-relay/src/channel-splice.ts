import type { Readable, Writable } from 'node:stream';
import type { ClientChannel, ServerChannel } from 'ssh2';

/** Longest wait for buffered output to reach the other side once the channel has closed. */
const DRAIN_TIMEOUT_MS = 5_000;

export interface SpliceObserver {
  /** Bytes from the client side (towards the target). */
  input?(chunk: Buffer): void;
  output?(chunk: Buffer): void;
  stderr?(chunk: Buffer): void;
  exit?(status: { code: number } | { signal: string }): void;
  closed?(): void;
}

/**
 * Rewrites one output stream on its way to the client (masking): takes the target's chunks, hands
 * what may go out to `release` (at once or later: a filter may hold a value cut between two chunks),
 * and releases everything it still holds at `end`.
 */
export interface OutputFilter {
  write(chunk: Buffer): void;
  end(): void;
}
export type OutputFilterFactory = (release: (bytes: Buffer) => void) => OutputFilter;

export interface SpliceOptions {
  /** One filter per output stream (stdout, stderr); without one the bytes go as they are. */
  outputFilter?: OutputFilterFactory;
}

/**
 * Joins a session channel accepted from the client side (`server`) to the one opened towards the
 * target (`client`): data both ways with backpressure (pipe), stderr, EOF, and the exit status or
 * signal, sent before the channel closes as RFC 4254 §6.10 expects.
 */
export function spliceSessionChannel(server: ServerChannel, client: ClientChannel, observer: SpliceObserver = {}, options: SpliceOptions = {}): void {
  let closedOnce = false;
  const closed = (): void => {
    if (closedOnce) return;
    closedOnce = true;
    observer.closed?.();
  };
  let exit: { code: number } | { signal: string; coreDumped: boolean; message: string } | undefined;
  if (observer.input) server.on('data', (chunk: Buffer) => observer.input?.(chunk));
  if (observer.output) client.on('data', (chunk: Buffer) => observer.output?.(chunk));
  if (observer.stderr) client.stderr.on('data', (chunk: Buffer) => observer.stderr?.(chunk));
  server.pipe(client);
  if (options.outputFilter) {
    pipeThrough(client, server, options.outputFilter);
    pipeThrough(client.stderr, server.stderr, options.outputFilter);
  } else {
    client.pipe(server, { end: false });
    client.stderr.pipe(server.stderr, { end: false });
  }
  client.on('exit', (code: number | null, signal?: string, coreDumped?: boolean, message?: string) => {
    exit = code !== null ? { code } : { signal: signal ?? 'KILL', coreDumped: coreDumped === true, message: message ?? '' };
    observer.exit?.(code !== null ? { code } : { signal: signal ?? 'KILL' });
  });
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    if (exit && 'code' in exit) server.exit(exit.code);
    else if (exit) server.exit(exit.signal, exit.coreDumped, exit.message);
    server.end();
    closed();
  };
  // ssh2 may report the channel closed while output is still buffered in the pipe (the far side was
  // slower than the target): end only once both streams are drained, so no output is lost; bounded,
  // in case the far side stops reading altogether.
  client.once('close', () => {
    const draining = [client, client.stderr].filter((s) => !s.readableEnded);
    if (draining.length === 0) return finish();
    let left = draining.length;
    const timer = setTimeout(finish, DRAIN_TIMEOUT_MS);
    timer.unref();
    for (const s of draining) {
      s.once('end', () => {
        left -= 1;
        if (left === 0) {
          clearTimeout(timer);
          finish();
        }
      });
    }
  });
  server.once('close', () => {
    finished = true; // the client side is gone: nothing more to send it
    client.close();
    closed();
  });
  server.on('error', () => client.close());
  client.on('error', () => server.close());
}

/**
 * `from` to `to` through a filter, with backpressure: while the client reads slower than the target
 * writes, the target's stream is paused. What the filter holds is released when `from` ends, before
 * the channel's exit status and close (see finish above, which waits for `from` to end).
 */
function pipeThrough(from: Readable, to: Writable, factory: OutputFilterFactory): void {
  const filter = factory((bytes) => {
    if (bytes.length === 0 || to.writableEnded || to.destroyed) return;
    if (!to.write(bytes) && !from.isPaused()) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('data', (chunk: Buffer) => filter.write(chunk));
  // Registered before finish's own 'end' listener (added at close): held text goes out first.
  from.once('end', () => filter.end());
}

/** Ends a session channel with a message on stderr and an exit status (a refusal the client can read). */
export function refuseOnChannel(server: ServerChannel, message: string, status: number): void {
  // The client may have closed the channel meanwhile; a late write must not become an uncaught error.
  server.on('error', () => undefined);
  server.stderr.write(`${message}\r\n`);
  server.exit(status);
  server.end();
}
