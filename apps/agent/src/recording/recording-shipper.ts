import { join } from 'node:path';
import { MAX_RECORDING_BATCH, MAX_RECORDING_BATCH_BYTES, type RecordingAck, type RecordingBatch, type RecordingEvent } from '@gw/contracts';
import type { Logger } from 'pino';
import { SessionSpool } from './recording-spool.js';

/** Sends one batch and resolves with the control plane's ack; rejects when not connected or on timeout. */
export type SendBatch = (batch: RecordingBatch) => Promise<RecordingAck>;

export interface RecordingShipperOptions {
  spoolDir: string;
  send: SendBatch;
  log: Logger;
  /** Delay before retrying after a failed send (default 2 s). */
  retryMs?: number;
}

/** What a session handler writes its recording through. Never throws; append order = seq order. */
export interface SessionRecorder {
  readonly sessionId: string;
  record(type: string, data: Record<string, unknown>): void;
  /** Resolves once every event recorded so far is on disk. */
  flushed(): Promise<void>;
}

/**
 * Ships spooled recording events to the control plane: batches of up to MAX_RECORDING_BATCH on `rec`
 * with an ack, one batch in flight at a time, the spool advanced only after a positive ack. Anything
 * unacknowledged is resent on the next connection (and after an agent restart, from the files).
 */
export class RecordingShipper {
  private readonly spools = new Map<string, SessionSpool>();
  private readonly dir: string;
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly restored: Promise<void>;

  constructor(private readonly options: RecordingShipperOptions) {
    this.dir = join(options.spoolDir, 'recordings');
    this.restored = SessionSpool.restore(this.dir).then(
      (spools) => {
        for (const spool of spools) if (!this.spools.has(spool.sessionId)) this.spools.set(spool.sessionId, spool);
        if (spools.length > 0) options.log.info({ sessions: spools.length }, 'recordings left in the spool will be resent');
      },
      (error: unknown) => options.log.error({ err: error, dir: this.dir }, 'cannot read the recording spool'),
    );
  }

  session(sessionId: string): SessionRecorder {
    let spool = this.spools.get(sessionId);
    if (!spool) {
      spool = new SessionSpool(sessionId, this.dir);
      this.spools.set(sessionId, spool);
    }
    const s = spool;
    return {
      sessionId,
      record: (type, data) => {
        s.append(type, data).then(
          () => this.kick(),
          (error: unknown) => this.options.log.error({ err: error, sessionId }, 'recording spool write failed'),
        );
      },
      flushed: () => s.flushed(),
    };
  }

  /** Try to send now (new events, or the connection came back). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.pump().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Events not yet acknowledged, over all sessions (tests, stats). */
  backlog(): number {
    let n = 0;
    for (const s of this.spools.values()) n += s.pending.length + (s.diskBacklog ? 1 : 0);
    return n;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private async pump(): Promise<void> {
    await this.restored;
    for (const spool of [...this.spools.values()]) {
      for (;;) {
        if (this.closed) return;
        await spool.flushed();
        if (spool.pending.length === 0 && spool.diskBacklog) await spool.reload();
        if (spool.pending.length === 0) {
          if (spool.ended) this.spools.delete(spool.sessionId);
          break;
        }
        const events = nextBatch(spool.pending);
        let ack: RecordingAck;
        try {
          ack = await this.options.send({ sessionId: spool.sessionId, events });
        } catch (error) {
          this.options.log.debug({ err: error, sessionId: spool.sessionId }, 'recording batch not sent; will retry');
          this.retryLater();
          return;
        }
        const last = events[events.length - 1]?.seq ?? -1;
        if (ack.ok) {
          await spool.ack(last);
          continue;
        }
        if (ack.retry) {
          this.options.log.warn({ sessionId: spool.sessionId, error: ack.error }, 'control plane could not store a recording batch; will retry');
          this.retryLater();
          return;
        }
        // Refused for good (e.g. unknown session): resending cannot help. Drop it loudly.
        this.options.log.error({ sessionId: spool.sessionId, error: ack.error, events: events.length }, 'control plane refused a recording batch; dropped');
        await spool.ack(last);
      }
    }
  }

  private retryLater(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.options.retryMs ?? 2000);
    this.retryTimer.unref();
  }
}

/** The first events that fit one batch by count and by encoded size (always at least one). */
export function nextBatch(pending: readonly RecordingEvent[]): RecordingEvent[] {
  const batch: RecordingEvent[] = [];
  let bytes = 0;
  for (const event of pending) {
    if (batch.length >= MAX_RECORDING_BATCH) break;
    const size = Buffer.byteLength(JSON.stringify(event));
    if (batch.length > 0 && bytes + size > MAX_RECORDING_BATCH_BYTES) break;
    batch.push(event);
    bytes += size;
  }
  return batch;
}
