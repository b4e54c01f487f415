import { join } from 'node:path';
import { MAX_RECORDING_BATCH, MAX_RECORDING_BATCH_BYTES, MAX_RECORDING_SESSIONS_PER_MESSAGE, type RecordingAck, type RecordingBatch, type RecordingEvent } from '@gw/contracts';
import type { Logger } from 'pino';
import { DEFAULT_FLUSH_INTERVAL_MS, RecordingJournal, type RecordingDurability } from './recording-journal.js';
import { encodedSize } from './recording-event.js';
import { SessionSpool } from './recording-spool.js';

/** Sends one batch and resolves with the control plane's ack; rejects when not connected or on timeout. */
export type SendBatch = (batch: RecordingBatch) => Promise<RecordingAck>;
/** Sends several sessions' batches in one message; one ack per batch, in order. */
export type SendBatches = (batches: RecordingBatch[]) => Promise<RecordingAck[]>;

export interface RecordingShipperOptions {
  spoolDir: string;
  send: SendBatch;
  /**
   * When the connected control plane takes several sessions per message: the sender for that (one
   * message and one insert for many sessions); undefined otherwise, and `send` is used per session.
   */
  sendMany?: () => SendBatches | undefined;
  log: Logger;
  /** Delay before retrying after a failed send (default 2 s). */
  retryMs?: number;
  /** Events appended within this many ms, by all sessions, share one write and one fsync (default 20). */
  flushIntervalMs?: number;
  /** What a held result waits for: the record fsynced (default) or written to the file. */
  durability?: RecordingDurability;
  /** Called once the answers a flush released are written (see RecordingJournalOptions.afterRelease). */
  afterRelease?: () => void;
  /**
   * How long durable events wait before they are shipped, so that one batch (one message, one insert
   * on the control plane) carries many statements instead of one (default 100 ms).
   */
  shipDelayMs?: number;
}

export const DEFAULT_SHIP_DELAY_MS = 100;

/**
 * What a session handler writes its recording through. Never throws; append order = seq order.
 * `data` is kept as it is and serialized by the journal's next flush: do not change it afterwards.
 */
export interface SessionRecorder {
  readonly sessionId: string;
  record(type: string, data: Record<string, unknown>): void;
  /**
   * Records an event that a client must not see the outcome of before it is on disk: resolves once it
   * (and everything recorded before it) is fsynced by the next group flush, which starts at once;
   * rejects when the journal cannot make it durable (the caller fails closed). `data` must not change
   * afterwards: it is serialized by the flush.
   */
  recordDurable(type: string, data: Record<string, unknown>): Promise<void>;
  /** Resolves once every event recorded so far is on disk. */
  flushed(): Promise<void>;
}

/**
 * Ships spooled recording events to the control plane: batches of up to MAX_RECORDING_BATCH on `rec`
 * with an ack, one batch in flight at a time, the spool advanced only after a positive ack. Only
 * events already fsynced are shipped, and shipping waits `shipDelayMs` after new events so that a
 * batch carries many. Anything unacknowledged is resent on the next connection (and after an agent
 * restart, from the files).
 */
export class RecordingShipper {
  private readonly spools = new Map<string, SessionSpool>();
  private readonly dir: string;
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private shipTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly restored: Promise<void>;
  private readonly journal: RecordingJournal;

  constructor(private readonly options: RecordingShipperOptions) {
    this.dir = join(options.spoolDir, 'recordings');
    this.journal = new RecordingJournal(this.dir, options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS, undefined, { durability: options.durability ?? 'write', afterRelease: options.afterRelease });
    this.restored = SessionSpool.restore(this.journal).then(
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
      spool = new SessionSpool(sessionId, this.journal);
      this.spools.set(sessionId, spool);
    }
    const s = spool;
    const written = (write: Promise<void>): Promise<void> => {
      write.then(
        () => this.kickSoon(),
        (error: unknown) => this.options.log.error({ err: error, sessionId }, 'recording spool write failed'),
      );
      return write;
    };
    return {
      sessionId,
      record: (type, data) => void written(s.append(type, data)),
      recordDurable: (type, data) => written(s.append(type, data, true)),
      flushed: () => s.flushed(),
    };
  }

  /** Send within shipDelayMs (new durable events): events arriving meanwhile join the batch. */
  private kickSoon(): void {
    if (this.closed || this.shipTimer) return;
    this.shipTimer = setTimeout(() => {
      this.shipTimer = undefined;
      this.kick();
    }, this.options.shipDelayMs ?? DEFAULT_SHIP_DELAY_MS);
    this.shipTimer.unref();
  }

  /** Try to send now (the connection came back, or the ship delay is over). */
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
    clearTimeout(this.shipTimer);
  }

  /** Writes what is buffered and closes the journal (agent shutdown). */
  async closeFiles(): Promise<void> {
    await this.journal.close();
  }

  private async pump(): Promise<void> {
    await this.restored;
    const sendMany = this.options.sendMany?.();
    if (sendMany) await this.pumpSessionsTogether(sendMany);
    else await this.pumpSessionBySession();
  }

  /** Events of a spool that may be sent now (refilled from disk first); undefined when none. */
  private async ready(spool: SessionSpool): Promise<RecordingEvent[] | undefined> {
    if (spool.pending.length === 0 && spool.diskBacklog) await spool.reload();
    if (spool.pending.length === 0) {
      if (spool.ended) this.spools.delete(spool.sessionId);
      return undefined;
    }
    // Events not yet fsynced wait for their flush, which kicks the shipper again.
    const events = nextBatch(spool.pending, spool.durableSeq);
    return events.length > 0 ? events : undefined;
  }

  /** Applies the control plane's answer to one session's batch; false when it must be sent again later. */
  private async settle(spool: SessionSpool, events: RecordingEvent[], ack: RecordingAck | undefined): Promise<boolean> {
    const last = events[events.length - 1]?.seq ?? -1;
    if (ack?.ok) {
      await spool.ack(last);
      return true;
    }
    if (!ack || ack.retry) {
      this.options.log.warn({ sessionId: spool.sessionId, error: ack?.error ?? 'no answer for the batch' }, 'control plane could not store a recording batch; will retry');
      return false;
    }
    // Refused for good (e.g. unknown session): resending cannot help. Drop it loudly.
    this.options.log.error({ sessionId: spool.sessionId, error: ack.error, events: events.length }, 'control plane refused a recording batch; dropped');
    await spool.ack(last);
    return true;
  }

  private async pumpSessionBySession(): Promise<void> {
    for (const spool of [...this.spools.values()]) {
      for (;;) {
        if (this.closed) return;
        const events = await this.ready(spool);
        if (!events) break;
        let ack: RecordingAck;
        try {
          ack = await this.options.send({ sessionId: spool.sessionId, events });
        } catch (error) {
          this.options.log.debug({ err: error, sessionId: spool.sessionId }, 'recording batch not sent; will retry');
          this.retryLater();
          return;
        }
        if (!(await this.settle(spool, events, ack))) {
          this.retryLater();
          return;
        }
      }
    }
  }

  /** One message carries the ready batches of many sessions, up to the message's count and size limits. */
  private async pumpSessionsTogether(sendMany: SendBatches): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const picked: { spool: SessionSpool; events: RecordingEvent[] }[] = [];
      let bytes = 0;
      for (const spool of [...this.spools.values()]) {
        if (picked.length >= MAX_RECORDING_SESSIONS_PER_MESSAGE) break;
        const events = await this.ready(spool);
        if (!events) continue;
        const size = events.reduce((n, e) => n + encodedSize(e), 0);
        if (picked.length > 0 && bytes + size > MAX_RECORDING_BATCH_BYTES) break;
        picked.push({ spool, events });
        bytes += size;
      }
      if (picked.length === 0) return;
      let acks: RecordingAck[];
      try {
        acks = await sendMany(picked.map(({ spool, events }) => ({ sessionId: spool.sessionId, events })));
      } catch (error) {
        this.options.log.debug({ err: error, sessions: picked.length }, 'recording batches not sent; will retry');
        this.retryLater();
        return;
      }
      let again = true;
      for (const [i, { spool, events }] of picked.entries()) if (!(await this.settle(spool, events, acks[i]))) again = false;
      if (!again) {
        this.retryLater();
        return;
      }
      // Caught up: what became durable during the round trip waits for the ship delay and goes with
      // what follows, so that a busy agent sends one message (and the control plane stores one chunk
      // per session) per delay, not one per round trip with a few events each. Behind: send on now.
      const full = picked.length >= MAX_RECORDING_SESSIONS_PER_MESSAGE || bytes * 2 >= MAX_RECORDING_BATCH_BYTES
        || picked.some(({ events }) => events.length >= MAX_RECORDING_BATCH);
      if (!full) {
        this.kickSoon();
        return;
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

/**
 * The first events that fit one batch by count and by encoded size (at least one, if the first is
 * durable), stopping at the first event above `durableSeq`.
 */
export function nextBatch(pending: readonly RecordingEvent[], durableSeq = Number.MAX_SAFE_INTEGER): RecordingEvent[] {
  const batch: RecordingEvent[] = [];
  let bytes = 0;
  for (const event of pending) {
    if (batch.length >= MAX_RECORDING_BATCH || event.seq > durableSeq) break;
    const size = encodedSize(event);
    if (batch.length > 0 && bytes + size > MAX_RECORDING_BATCH_BYTES) break;
    batch.push(event);
    bytes += size;
  }
  return batch;
}
