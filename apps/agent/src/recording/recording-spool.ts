import { mkdir, open, readdir, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_RECORDING_EVENT_BYTES, type RecordingEvent } from '@gw/contracts';

const SESSION_FILE = /^([0-9a-f-]{36})\.jsonl$/;
/** Unacknowledged events kept in memory per session; beyond it they wait on disk only. */
export const MAX_PENDING_IN_MEMORY = 5000;

/** Cuts an event's data so that its JSON stays within the control plane's per-event limit. */
export function fitEvent(event: RecordingEvent): RecordingEvent {
  if (Buffer.byteLength(JSON.stringify(event.data)) <= MAX_RECORDING_EVENT_BYTES - 1024) return event;
  const data: Record<string, unknown> = { ...event.data, truncated: true };
  // Rows first (the bulkiest), then long strings.
  if (Array.isArray(data['rows'])) data['rows'] = [];
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string' && value.length > 16_384) data[key] = `${value.slice(0, 16_384)}…`;
  }
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_RECORDING_EVENT_BYTES - 1024) {
    return { ...event, data: { truncated: true, note: 'event too large to record' } };
  }
  return { ...event, data };
}

/** How long appended events may wait in memory before they are written and fsynced together. */
export const DEFAULT_FLUSH_INTERVAL_MS = 20;

/** A session file handle unused this long is closed (reopened by the next append): fds stay bounded by active sessions. */
export const DEFAULT_IDLE_CLOSE_MS = 2000;

/** Encoded size of each spooled event (its JSON line), so batching does not serialize it again. */
const encodedSizes = new WeakMap<RecordingEvent, number>();
export function encodedSize(event: RecordingEvent): number {
  return encodedSizes.get(event) ?? Buffer.byteLength(JSON.stringify(event));
}

/**
 * One session's spooled events: the JSONL file on disk and the unacknowledged tail in memory.
 *
 * Group commit: appends made within one flush interval are written with one write and one fsync on a
 * file handle kept open for the session's life (a statement-per-round-trip client would otherwise pay
 * an open, an fsync and a close per statement). `durableSeq` says how far the file is fsynced: only
 * that much may be shipped, so the control plane never acknowledges what a crash could still lose.
 */
export class SessionSpool {
  readonly pending: RecordingEvent[] = [];
  /** Events exist on disk that are not in `pending` (memory cap reached, or loaded after a restart). */
  diskBacklog = false;
  acked = -1;
  nextSeq = 0;
  /** Highest seq known to be fsynced to the file (-1: none). */
  durableSeq = -1;
  ended = false;
  private writes: Promise<void> = Promise.resolve();
  private dirReady = false;
  private handle: FileHandle | undefined;
  /** Lines appended since the last flush, and the seq of the last of them. */
  private buffered: string[] = [];
  private bufferedLastSeq = -1;
  /** Settles when the flush that will carry `buffered` is done; created with the first buffered line. */
  private nextFlush: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushNow: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly sessionId: string,
    private readonly dir: string,
    private readonly flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS,
    private readonly idleCloseMs = DEFAULT_IDLE_CLOSE_MS,
  ) {}

  get file(): string {
    return join(this.dir, `${this.sessionId}.jsonl`);
  }
  private get ackFile(): string {
    return join(this.dir, `${this.sessionId}.ack`);
  }

  /** Appends one event; resolves once it is on disk (fsync), at most one flush interval later. */
  append(type: string, data: Record<string, unknown>): Promise<void> {
    let event: RecordingEvent = { seq: this.nextSeq++, at: new Date().toISOString(), type, data };
    let line = JSON.stringify(event);
    // Most events are far below the limit: only measure (and cut) the ones that could be above it.
    if (line.length * 3 > MAX_RECORDING_EVENT_BYTES - 1024) {
      const fitted = fitEvent(event);
      if (fitted !== event) {
        event = fitted;
        line = JSON.stringify(event);
      }
    }
    encodedSizes.set(event, Buffer.byteLength(line));
    if (type === 'pg.end' || type === 'session.end') this.ended = true;
    if (this.pending.length < MAX_PENDING_IN_MEMORY && !this.diskBacklog) this.pending.push(event);
    else this.diskBacklog = true;
    this.buffered.push(`${line}\n`);
    this.bufferedLastSeq = event.seq;
    const done = this.scheduleFlush();
    // The session is over: nothing more will share this flush, so it need not wait for the timer.
    if (this.ended) this.flushNow?.();
    return done;
  }

  private scheduleFlush(): Promise<void> {
    if (this.nextFlush) return this.nextFlush;
    const flush = new Promise<void>((resolve) => {
      this.flushNow = resolve;
      this.flushTimer = setTimeout(resolve, this.flushIntervalMs);
    }).then(() => {
      clearTimeout(this.flushTimer);
      this.flushNow = undefined;
      this.nextFlush = undefined;
      const lines = this.buffered;
      const lastSeq = this.bufferedLastSeq;
      this.buffered = [];
      // Each write starts after the previous one whatever its outcome: one failed write (a full disk)
      // must not wedge every later event of the session.
      const write = this.writes.catch(() => undefined).then(() => this.writeLines(lines, lastSeq));
      this.writes = write;
      return write;
    });
    this.nextFlush = flush;
    return flush;
  }

  private async writeLines(lines: string[], lastSeq: number): Promise<void> {
    if (!this.dirReady) {
      await mkdir(this.dir, { recursive: true });
      this.dirReady = true;
    }
    this.handle ??= await open(this.file, 'a');
    await this.handle.write(lines.join(''));
    await this.handle.datasync();
    this.durableSeq = Math.max(this.durableSeq, lastSeq);
    this.armIdleClose();
  }

  private armIdleClose(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      // Queued behind any write in progress; a flush queued after it simply reopens the file.
      const closing = this.writes.catch(() => undefined).then(async () => {
        if (this.nextFlush) return;
        const handle = this.handle;
        this.handle = undefined;
        await handle?.close();
      });
      this.writes = closing;
    }, this.idleCloseMs);
    this.idleTimer.unref();
  }

  /** Settles when every event appended so far is written; a failed write was reported to its caller. */
  flushed(): Promise<void> {
    this.flushNow?.();
    return (this.nextFlush ?? this.writes).catch(() => undefined);
  }

  /** Closes the file handle (agent shutdown); a later append reopens it. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    await this.flushed();
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  /** Marks everything up to `seq` as stored by the control plane. */
  async ack(seq: number): Promise<void> {
    this.acked = Math.max(this.acked, seq);
    while (this.pending.length > 0 && (this.pending[0]?.seq ?? Infinity) <= this.acked) this.pending.shift();
    await this.writes.catch(() => undefined);
    if (this.ended && this.pending.length === 0 && !this.diskBacklog && this.acked >= this.nextSeq - 1) {
      await this.close();
      await rm(this.file, { force: true });
      await rm(this.ackFile, { force: true });
      return;
    }
    await writeFile(this.ackFile, String(this.acked));
  }

  /** Refills `pending` from the file (after a restart or once the in-memory cap was hit). */
  async reload(): Promise<void> {
    await this.flushed();
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      this.diskBacklog = false;
      return;
    }
    const events: RecordingEvent[] = [];
    let more = false;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let event: RecordingEvent;
      try {
        event = JSON.parse(line) as RecordingEvent;
      } catch {
        continue; // a torn last line after a crash: that event was never acknowledged nor complete
      }
      this.nextSeq = Math.max(this.nextSeq, event.seq + 1);
      if (event.type === 'pg.end' || event.type === 'session.end') this.ended = true;
      // What is in the file was fsynced by the run that wrote it (or is a torn line, skipped above).
      this.durableSeq = Math.max(this.durableSeq, event.seq);
      if (event.seq <= this.acked || this.pending.some((e) => e.seq === event.seq)) continue;
      if (this.pending.length + events.length >= MAX_PENDING_IN_MEMORY) {
        more = true;
        continue;
      }
      events.push(event);
      encodedSizes.set(event, Buffer.byteLength(line));
    }
    this.pending.push(...events);
    this.pending.sort((a, b) => a.seq - b.seq);
    this.diskBacklog = more;
  }

  static async restore(dir: string): Promise<SessionSpool[]> {
    await mkdir(dir, { recursive: true });
    const spools: SessionSpool[] = [];
    for (const name of await readdir(dir)) {
      const match = SESSION_FILE.exec(name);
      if (!match?.[1]) continue;
      const spool = new SessionSpool(match[1], dir);
      const acked = Number.parseInt(await readFile(join(dir, `${match[1]}.ack`), 'utf8').catch(() => '-1'), 10);
      spool.acked = Number.isFinite(acked) ? acked : -1;
      // A session left over from a previous run is over: whatever it recorded is all there will be.
      spool.ended = true;
      // Lines written before a crash of the agent (not of the machine) may not have been fsynced yet.
      const handle = await open(spool.file, 'r+');
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await spool.reload();
      spools.push(spool);
    }
    return spools;
  }
}

