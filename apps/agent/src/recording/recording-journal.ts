import { writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingEvent } from '@gw/contracts';
import { encodeEvent } from './recording-event.js';

const SEGMENT_FILE = /^journal-(\d{12})\.jsonl$/;

/** How long appended events may wait in memory when nobody waits for them to be durable. */
export const DEFAULT_FLUSH_INTERVAL_MS = 20;
/** A segment is closed once it holds this much; a new one is started by the next write. */
export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
/** How long acknowledgements alone may wait before they are written (they need no fsync). */
const ACK_FLUSH_MS = 1000;

/**
 * An open segment. The write is synchronous: it only reaches the page cache, a few microseconds for
 * a batch, and costs no thread-pool round trip (two event-loop turns under load) in front of every
 * held result; the fdatasync, which waits for the disk, runs off the event loop.
 */
export interface SegmentFile {
  writeSync(bytes: Buffer): void;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a segment file; a seam for tests of write and fsync failures (a disk cannot be made to fail here). */
export type OpenSegmentFile = (path: string, flags: 'wx') => Promise<SegmentFile>;

/** The real segment file. */
export const openSegmentFile: OpenSegmentFile = async (path, flags) => {
  const handle = await open(path, flags);
  return {
    writeSync: (bytes) => {
      // A regular file takes the whole buffer unless the disk is full, which throws; loop anyway.
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(handle.fd, bytes, offset, bytes.length - offset);
    },
    datasync: () => handle.datasync(),
    close: () => handle.close(),
  };
};

/**
 * What "durable" means before a held result is released: `fsync` (the record is on the disk: it
 * survives a crash of the machine) or `write` (the record is in the file, in the kernel's page cache:
 * it survives the agent's death, and is fsynced by the timed flush at most one interval later).
 */
export type RecordingDurability = 'fsync' | 'write';

export interface RecordingJournalOptions {
  openFile?: OpenSegmentFile;
  durability?: RecordingDurability;
  /**
   * Called after a flush's waiters have run (on process.nextTick, behind the promise reactions its
   * resolution set off): what they released is all written by then (the agent sends it to the
   * control plane at once, see flushPendingFrameBatches of @gw/tunnel).
   */
  afterRelease?: () => void;
}

/** What a restart finds in the journal for one session. */
export interface JournalSession {
  readonly sessionId: string;
  /** Highest seq the control plane acknowledged (-1: none). */
  readonly acked: number;
  /** Events above `acked`, by seq, without duplicates; at most `limit` of them. */
  readonly events: RecordingEvent[];
  /** More unacknowledged events are in the journal than `events` holds. */
  readonly more: boolean;
  /** Highest seq found. */
  readonly lastSeq: number;
}

/** Counters for tests and stats: how many group flushes ran and how many fsyncs they cost. */
export interface JournalStats {
  flushes: number;
  datasyncs: number;
  failedFlushes: number;
}

interface Segment {
  readonly name: string;
  bytes: number;
  /** Highest seq of each session's events in this segment. */
  readonly maxSeq: Map<string, number>;
}

/** An event as appended: a reference to the spool's own object, serialized when the flush runs. */
type Entry = { readonly sessionId: string; readonly event: RecordingEvent } | { readonly ack: string; readonly seq: number };

/** Entries that will be written (and fsynced) together, and the one promise all their appenders share. */
class Batch {
  readonly entries: Entry[] = [];
  hasEvents = false;
  /** Someone waits for durability (a result held back from a client): flush as soon as possible. */
  urgent = false;
  /** When the batch is due anyway (ms since epoch). */
  dueAt: number;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor(dueAt: number) {
    this.dueAt = dueAt;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Appenders that do not wait (acks, fire-and-forget records) must not turn a failure into an unhandled rejection.
    this.done.catch(() => undefined);
  }
}

type JournalLine = (RecordingEvent & { sid: string }) | { ack: string; seq: number };

function parseLine(line: string): JournalLine | undefined {
  try {
    const value = JSON.parse(line) as JournalLine;
    return typeof value === 'object' && value !== null && typeof value.seq === 'number' ? value : undefined;
  } catch {
    return undefined; // a torn last line after a crash: never acknowledged, never complete
  }
}

/**
 * One append-only journal for the recordings of every session of the agent, written by group commit:
 * what all sessions appended since the last flush is written with one write and made durable with one
 * fdatasync. A flush starts as soon as anyone waits for durability (`sync`, e.g. a statement whose
 * result is held until its record is on disk), otherwise when the flush interval has passed; one
 * flush runs at a time, and whatever is appended meanwhile goes into the next one, which starts
 * right after. Events stay the spool's objects until the flush serializes them, once.
 *
 * Acknowledgements are journal lines too; they ride along with the next write and need no fsync of
 * their own (a lost one only means a batch is sent again, and the control plane stores by session
 * and seq). Segments are deleted oldest first, once everything in them and before them is
 * acknowledged, so an empty directory means nothing is waiting.
 *
 * A failed write or fsync rejects every appender of that flush (fail closed: their results must not
 * reach clients), closes the segment (its tail may be torn or, after a failed fsync, silently lost
 * by the kernel) and puts the entries back in front of the next flush, which writes them again into
 * a new segment: a restart may then read an event twice, and reading dedups by session and seq.
 */
export class RecordingJournal {
  private readonly segments: Segment[] = [];
  private handle: SegmentFile | undefined;
  private nextIndex = 0;
  private dirReady = false;
  private readonly acked = new Map<string, number>();
  private readonly prefixes = new Map<string, string>();
  /** Entries appended since the last flush started. */
  private batch: Batch | undefined;
  /** The flush being written, if any. */
  private inFlight: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private immediate: NodeJS.Immediate | undefined;
  /** Writes, fsyncs, reads and deletions run one after the other; each starts whatever the previous outcome. */
  private writes: Promise<void> = Promise.resolve();
  private readonly openFile: OpenSegmentFile;
  private readonly durability: RecordingDurability;
  private readonly afterRelease: (() => void) | undefined;
  /** Written by an urgent flush in `write` durability and not fsynced yet: the next timed flush fsyncs. */
  private unsynced = false;
  readonly stats: JournalStats = { flushes: 0, datasyncs: 0, failedFlushes: 0 };

  constructor(
    readonly dir: string,
    private readonly flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS,
    private readonly segmentBytes = DEFAULT_SEGMENT_BYTES,
    options: RecordingJournalOptions = {},
  ) {
    this.openFile = options.openFile ?? openSegmentFile;
    this.durability = options.durability ?? 'fsync';
    this.afterRelease = options.afterRelease;
  }

  /**
   * Queues one event; resolves once it (and everything appended before it) is on disk, at the latest
   * one flush interval later, or right after the next flush if someone calls `sync`. Rejects when
   * the write or the fsync fails. The event is serialized at the flush: do not change it meanwhile.
   */
  append(sessionId: string, event: RecordingEvent): Promise<void> {
    const batch = this.open(Date.now() + this.flushIntervalMs);
    batch.entries.push({ sessionId, event });
    batch.hasEvents = true;
    return batch.done;
  }

  /**
   * Asks for everything appended so far to be made durable as soon as possible (group commit: the
   * flush starts once the current event-loop turn is over, so that the other sessions' records of
   * the same turn share it). Resolves when it is; rejects when the write or the fsync fails.
   */
  sync(): Promise<void> {
    const batch = this.batch;
    if (!batch) return this.inFlight?.done ?? Promise.resolve();
    batch.urgent = true;
    if (!this.inFlight && !this.immediate) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.startFlush();
      });
    }
    return batch.done;
  }

  /** Records that the control plane stored `sessionId` up to `seq`; segments it completes are deleted. */
  ack(sessionId: string, seq: number): void {
    if (seq <= (this.acked.get(sessionId) ?? -1)) return;
    this.acked.set(sessionId, seq);
    // Acknowledgements alone are not worth an early write: they wait for events or for a quiet second.
    this.open(Date.now() + ACK_FLUSH_MS).entries.push({ ack: sessionId, seq });
  }

  /**
   * Settles when everything appended so far is written, and what that made deletable is deleted (a
   * failed write was reported to its caller).
   */
  flushed(): Promise<void> {
    const waiting = this.batch ? this.sync() : (this.inFlight?.done ?? Promise.resolve());
    return waiting.catch(() => undefined).then(() => this.writes);
  }

  /** Writes what is buffered and closes the open segment (a later append starts a new one). */
  async close(): Promise<void> {
    await this.flushed();
    const closing = this.writes.catch(() => undefined).then(() => this.closeSegment());
    this.writes = closing;
    await closing.catch(() => undefined);
  }

  /** The batch being filled, made due no later than `dueAt`. */
  private open(dueAt: number): Batch {
    let batch = this.batch;
    if (!batch) {
      batch = new Batch(dueAt);
      this.batch = batch;
    } else if (dueAt < batch.dueAt) {
      batch.dueAt = dueAt;
    }
    if (!this.inFlight && batch.dueAt < this.timerAt) this.armTimer(batch.dueAt);
    return batch;
  }

  private armTimer(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.startFlush();
    }, Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  /** Starts writing the current batch, unless a flush is already running (it starts the next one). */
  private startFlush(): void {
    const batch = this.batch;
    if (this.inFlight || !batch) return;
    this.batch = undefined;
    this.inFlight = batch;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    const write = this.writes.catch(() => undefined).then(() => this.writeBatch(batch));
    // Deleting acknowledged segments follows the write but is nobody's wait: the appenders are told first.
    this.writes = write.then(() => this.collect().catch(() => undefined), () => undefined);
    write.then(
      () => this.settled(batch, undefined),
      (error: unknown) => this.settled(batch, error),
    );
  }

  private settled(batch: Batch, error: unknown): void {
    this.inFlight = undefined;
    if (error === undefined) {
      batch.resolve();
      if (this.afterRelease && batch.urgent) process.nextTick(this.afterRelease);
    } else {
      this.stats.failedFlushes += 1;
      // Written again by the next flush, into a new segment; their appenders are told now.
      const retry = batch.entries;
      const next = this.open(Date.now() + this.flushIntervalMs);
      next.entries.unshift(...retry);
      next.hasEvents ||= batch.hasEvents;
      batch.reject(error);
    }
    const next = this.batch;
    if (!next) return;
    // Records appended during the flush go now if someone waits for them or they are due.
    if ((next.urgent && error === undefined) || next.dueAt <= Date.now()) this.startFlush();
    else this.armTimer(next.urgent ? Date.now() + this.flushIntervalMs : next.dueAt);
  }

  private sessionPrefix(sessionId: string): string {
    let prefix = this.prefixes.get(sessionId);
    if (prefix === undefined) {
      prefix = `{"sid":${JSON.stringify(sessionId)},`;
      this.prefixes.set(sessionId, prefix);
    }
    return prefix;
  }

  /** One serialization of the whole batch: a line per entry. */
  private encode(entries: readonly Entry[]): string {
    let text = '';
    for (const entry of entries) {
      if ('ack' in entry) text += `{"ack":${JSON.stringify(entry.ack)},"seq":${entry.seq}}\n`;
      else text += `${this.sessionPrefix(entry.sessionId)}${encodeEvent(entry.event).slice(1)}\n`;
    }
    return text;
  }

  private async writeBatch(batch: Batch): Promise<void> {
    if (batch.entries.length === 0 && !this.unsynced) return;
    this.stats.flushes += 1;
    const bytes = Buffer.from(this.encode(batch.entries), 'utf8');
    const last = this.segments[this.segments.length - 1];
    const segment = this.handle && last ? last : await this.currentSegment();
    try {
      if (bytes.length > 0) this.handle!.writeSync(bytes);
      // Acknowledgements alone need no fsync (a lost one only means a batch is sent again). In `write`
      // durability a flush someone waits for stops at the page cache (it survives the agent's death);
      // the timed flush at most one interval later makes it survive the machine's too.
      const deferSync = batch.urgent && this.durability === 'write';
      if (deferSync && batch.hasEvents) {
        this.unsynced = true;
        this.open(Date.now() + this.flushIntervalMs);
      } else if (batch.hasEvents || this.unsynced) {
        this.stats.datasyncs += 1;
        await this.handle!.datasync();
        this.unsynced = false;
      }
    } catch (error) {
      // Never append after a failure: the segment's tail may be torn or lost; the retry starts a new one.
      await this.closeSegment().catch(() => undefined);
      throw error;
    }
    segment.bytes += bytes.length;
    for (const entry of batch.entries) {
      if ('ack' in entry) continue;
      segment.maxSeq.set(entry.sessionId, Math.max(segment.maxSeq.get(entry.sessionId) ?? -1, entry.event.seq));
    }
    if (segment.bytes >= this.segmentBytes) await this.closeSegment();
  }

  private async currentSegment(): Promise<Segment> {
    const last = this.segments[this.segments.length - 1];
    if (this.handle && last) return last;
    if (!this.dirReady) {
      await mkdir(this.dir, { recursive: true });
      this.dirReady = true;
    }
    for (let attempt = 0; ; attempt++) {
      const segment: Segment = { name: `journal-${String(this.nextIndex++).padStart(12, '0')}.jsonl`, bytes: 0, maxSeq: new Map() };
      try {
        // 'wx': a segment is never appended to after a restart (its last line may be torn).
        this.handle = await this.openFile(join(this.dir, segment.name), 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw error;
      }
      this.segments.push(segment);
      return segment;
    }
  }

  private async closeSegment(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle && this.unsynced) {
      this.unsynced = false;
      await handle.datasync().catch(() => undefined);
    }
    await handle?.close();
  }

  private fullyAcked(segment: Segment): boolean {
    for (const [sessionId, seq] of segment.maxSeq) if ((this.acked.get(sessionId) ?? -1) < seq) return false;
    return true;
  }

  /** Deletes the oldest segments while everything in them is acknowledged (the open one too, if idle). */
  private async collect(): Promise<void> {
    for (;;) {
      const oldest = this.segments[0];
      if (!oldest || !this.fullyAcked(oldest)) break;
      const current = this.segments.length === 1 && this.handle !== undefined;
      if (current) {
        if (this.batch?.hasEvents) break;
        await this.closeSegment();
      }
      this.segments.shift();
      await rm(join(this.dir, oldest.name), { force: true });
    }
    // Acknowledgements of sessions no segment (nor the buffer) mentions any more are not needed.
    const mentioned = new Set<string>();
    for (const segment of this.segments) for (const sessionId of segment.maxSeq.keys()) mentioned.add(sessionId);
    for (const entry of this.batch?.entries ?? []) if (!('ack' in entry)) mentioned.add(entry.sessionId);
    for (const sessionId of this.acked.keys()) if (!mentioned.has(sessionId)) this.acked.delete(sessionId);
  }

  /**
   * Reads what a previous run left: every session's unacknowledged events (up to `limit` per session
   * in memory; `more` says there are others, see readSession). Call once, before any append. Segments
   * are fsynced first: lines an agent crash (not a machine crash) left unsynced become durable now.
   */
  restore(limit: number): Promise<JournalSession[]> {
    // Queued first: an append made meanwhile (a session starting with the agent) waits for it.
    const restored = this.writes.then(() => this.readSegments(limit));
    this.writes = restored.then(() => undefined);
    return restored;
  }

  private async readSegments(limit: number): Promise<JournalSession[]> {
    await mkdir(this.dir, { recursive: true });
    this.dirReady = true;
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_FILE.test(n)).sort();
    const sessions = new Map<string, { events: Map<number, RecordingEvent>; more: boolean; lastSeq: number }>();
    for (const name of names) {
      const handle = await open(join(this.dir, name), 'r+');
      let text: string;
      try {
        await handle.datasync();
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
      const segment: Segment = { name, bytes: Buffer.byteLength(text), maxSeq: new Map() };
      for (const raw of text.split('\n')) {
        if (raw === '') continue;
        const line = parseLine(raw);
        if (!line) continue;
        if ('ack' in line) {
          if (line.seq > (this.acked.get(line.ack) ?? -1)) this.acked.set(line.ack, line.seq);
          continue;
        }
        const { sid, ...event } = line;
        segment.maxSeq.set(sid, Math.max(segment.maxSeq.get(sid) ?? -1, event.seq));
        let session = sessions.get(sid);
        if (!session) {
          session = { events: new Map(), more: false, lastSeq: -1 };
          sessions.set(sid, session);
        }
        session.lastSeq = Math.max(session.lastSeq, event.seq);
        if (session.events.size < limit || session.events.has(event.seq)) session.events.set(event.seq, event);
        else session.more = true;
      }
      this.segments.push(segment);
      this.nextIndex = Number(SEGMENT_FILE.exec(name)?.[1] ?? 0) + 1;
    }
    const out: JournalSession[] = [];
    for (const [sessionId, s] of sessions) {
      const acked = this.acked.get(sessionId) ?? -1;
      const events = [...s.events.values()].filter((e) => e.seq > acked).sort((a, b) => a.seq - b.seq);
      if (events.length === 0 && !s.more) continue;
      out.push({ sessionId, acked, events, more: s.more, lastSeq: s.lastSeq });
    }
    await this.collect();
    return out;
  }

  /** A session's events above `afterSeq`, by seq, at most `limit` (for a backlog kept on disk only). */
  async readSession(sessionId: string, afterSeq: number, limit: number): Promise<{ events: RecordingEvent[]; more: boolean }> {
    await this.flushed();
    const prefix = `{"sid":${JSON.stringify(sessionId)},`;
    const found = new Map<number, RecordingEvent>();
    for (const segment of [...this.segments]) {
      if (!segment.maxSeq.has(sessionId) && segment !== this.segments[this.segments.length - 1]) continue;
      let text: string;
      try {
        text = await readFile(join(this.dir, segment.name), 'utf8');
      } catch {
        continue; // deleted meanwhile: everything in it was acknowledged
      }
      for (const raw of text.split('\n')) {
        if (!raw.startsWith(prefix)) continue;
        const line = parseLine(raw);
        if (!line || 'ack' in line || line.seq <= afterSeq) continue;
        const { sid: _sid, ...event } = line;
        found.set(event.seq, event);
      }
    }
    const events = [...found.values()].sort((a, b) => a.seq - b.seq);
    return { events: events.slice(0, limit), more: events.length > limit };
  }
}
