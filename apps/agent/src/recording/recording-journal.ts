import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingEvent } from '@gw/contracts';

const SEGMENT_FILE = /^journal-(\d{12})\.jsonl$/;

/** How long appended events may wait in memory before they are written and fsynced together. */
export const DEFAULT_FLUSH_INTERVAL_MS = 20;
/** A segment is closed once it holds this much; a new one is started by the next write. */
export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;

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

interface Segment {
  readonly name: string;
  bytes: number;
  /** Highest seq of each session's events in this segment. */
  readonly maxSeq: Map<string, number>;
}

interface Buffered {
  readonly text: string;
  /** Undefined for an acknowledgement line. */
  readonly sessionId?: string;
  readonly seq?: number;
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
 * One append-only journal for the recordings of every session of the agent: what all sessions append
 * within one flush interval is written with one write and made durable with one fdatasync (per-session
 * files cost one fdatasync per active session per interval, which does not scale to hundreds of
 * sessions). Acknowledgements are journal lines too; they ride along with the next write and need no
 * fsync of their own (a lost one only means a batch is sent again, and the control plane stores by
 * session and seq). Segments are deleted oldest first, once everything in them and before them is
 * acknowledged, so an empty directory means nothing is waiting.
 */
export class RecordingJournal {
  private readonly segments: Segment[] = [];
  private handle: FileHandle | undefined;
  private nextIndex = 0;
  private dirReady = false;
  private readonly acked = new Map<string, number>();
  private buffered: Buffered[] = [];
  private nextFlush: Promise<void> | undefined;
  private flushNow: (() => void) | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private timerDelay = 0;
  /** Writes, fsyncs and deletions run one after the other; each starts whatever the previous outcome. */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS,
    private readonly segmentBytes = DEFAULT_SEGMENT_BYTES,
  ) {}

  /**
   * Queues one event (its JSON); resolves once it is on disk (fsync), at most one flush interval later.
   * Rejects when the write or the fsync fails.
   */
  append(sessionId: string, seq: number, eventJson: string): Promise<void> {
    this.buffered.push({ text: `{"sid":${JSON.stringify(sessionId)},${eventJson.slice(1)}\n`, sessionId, seq });
    return this.scheduleFlush(this.flushIntervalMs);
  }

  /** Records that the control plane stored `sessionId` up to `seq`; segments it completes are deleted. */
  ack(sessionId: string, seq: number): void {
    if (seq <= (this.acked.get(sessionId) ?? -1)) return;
    this.acked.set(sessionId, seq);
    this.buffered.push({ text: `${JSON.stringify({ ack: sessionId, seq })}\n` });
    // Acknowledgements alone are not worth an early write: they wait for events or for a quiet second.
    void this.scheduleFlush(1000).catch(() => undefined);
  }

  /** Settles when everything appended so far is written (a failed write was reported to its caller). */
  flushed(): Promise<void> {
    this.flushNow?.();
    return (this.nextFlush ?? this.writes).catch(() => undefined);
  }

  /** Writes what is buffered and closes the open segment (a later append starts a new one). */
  async close(): Promise<void> {
    await this.flushed();
    const closing = this.writes.catch(() => undefined).then(() => this.closeSegment());
    this.writes = closing;
    await closing.catch(() => undefined);
  }

  private scheduleFlush(delayMs: number): Promise<void> {
    if (this.nextFlush) {
      // An event must not wait for an acknowledgement's longer timer.
      if (delayMs <= this.flushIntervalMs) this.shortenTimer();
      return this.nextFlush;
    }
    const flush = new Promise<void>((resolve) => {
      this.flushNow = resolve;
      this.flushTimer = setTimeout(resolve, delayMs);
      this.flushTimer.unref();
    }).then(() => {
      clearTimeout(this.flushTimer);
      this.flushNow = undefined;
      this.nextFlush = undefined;
      const lines = this.buffered;
      this.buffered = [];
      // Acknowledgements alone need no fsync (a lost one only means a batch is sent again).
      const sync = lines.some((l) => l.sessionId !== undefined);
      const write = this.writes.catch(() => undefined).then(() => this.writeLines(lines, sync));
      this.writes = write;
      return write;
    });
    this.nextFlush = flush;
    this.timerDelay = delayMs;
    return flush;
  }

  private shortenTimer(): void {
    if (this.timerDelay <= this.flushIntervalMs || !this.flushNow) return;
    clearTimeout(this.flushTimer);
    const resolve = this.flushNow;
    this.flushTimer = setTimeout(resolve, this.flushIntervalMs);
    this.flushTimer.unref();
    this.timerDelay = this.flushIntervalMs;
  }

  private async writeLines(lines: Buffered[], sync: boolean): Promise<void> {
    if (lines.length === 0) return;
    const segment = await this.currentSegment();
    const text = lines.map((l) => l.text).join('');
    await this.handle!.write(text);
    if (sync) await this.handle!.datasync();
    segment.bytes += Buffer.byteLength(text);
    for (const line of lines) {
      if (line.sessionId === undefined || line.seq === undefined) continue;
      segment.maxSeq.set(line.sessionId, Math.max(segment.maxSeq.get(line.sessionId) ?? -1, line.seq));
    }
    if (segment.bytes >= this.segmentBytes) await this.closeSegment();
    await this.collect();
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
        this.handle = await open(join(this.dir, segment.name), 'wx');
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
        if (this.buffered.some((l) => l.sessionId !== undefined)) break;
        await this.closeSegment();
      }
      this.segments.shift();
      await rm(join(this.dir, oldest.name), { force: true });
    }
    // Acknowledgements of sessions no segment (nor the buffer) mentions any more are not needed.
    const mentioned = new Set<string>();
    for (const segment of this.segments) for (const sessionId of segment.maxSeq.keys()) mentioned.add(sessionId);
    for (const line of this.buffered) if (line.sessionId !== undefined) mentioned.add(line.sessionId);
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
