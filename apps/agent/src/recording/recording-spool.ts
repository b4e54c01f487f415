import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingEvent } from '@gw/contracts';
import { rememberEncodedSize } from './recording-event.js';
import type { RecordingJournal } from './recording-journal.js';

/** Per-session files of agents before the journal (read once at start, then moved into the journal). */
const SESSION_FILE = /^([0-9a-f-]{36})\.jsonl$/;
/** Unacknowledged events kept in memory per session; beyond it they wait on disk only. */
export const MAX_PENDING_IN_MEMORY = 5000;

export { encodedSize, fitEvent } from './recording-event.js';

let lastIsoMs = -1;
let lastIso = '';

/** The current time as ISO text, formatted once per millisecond: many events share one. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * One session's spooled events: its lines in the agent's recording journal and the unacknowledged
 * tail in memory. `durableSeq` says how far the journal is fsynced for this session: only that much may
 * be shipped, so the control plane never acknowledges what a crash could still lose.
 */
export class SessionSpool {
  readonly pending: RecordingEvent[] = [];
  /** Events exist on disk that are not in `pending` (memory cap reached, or loaded after a restart). */
  diskBacklog = false;
  acked = -1;
  nextSeq = 0;
  /** Highest seq known to be fsynced (-1: none). */
  durableSeq = -1;
  ended = false;
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(
    readonly sessionId: string,
    private readonly journal: RecordingJournal,
  ) {}

  /**
   * Appends one event; resolves once it is on disk (fsync), at most one flush interval later, or
   * right after the next group flush when `durable` is set (someone holds a result back until then).
   * The event stays a plain object until the journal's flush serializes it, once.
   */
  append(type: string, data: Record<string, unknown>, durable = false): Promise<void> {
    const event: RecordingEvent = { seq: this.nextSeq++, at: isoNow(), type, data };
    if (type === 'pg.end' || type === 'session.end') this.ended = true;
    if (this.pending.length < MAX_PENDING_IN_MEMORY && !this.diskBacklog) this.pending.push(event);
    else this.diskBacklog = true;
    const seq = event.seq;
    const appended = this.journal.append(this.sessionId, event);
    // The session is over: nothing more will share this flush, so it need not wait for the timer.
    const written = (durable || this.ended ? this.journal.sync() : appended).then(() => {
      this.durableSeq = Math.max(this.durableSeq, seq);
    });
    this.lastWrite = written;
    return written;
  }

  /** Settles when every event appended so far is written; a failed write was reported to its caller. */
  async flushed(): Promise<void> {
    const last = this.lastWrite;
    await this.journal.flushed();
    await last.catch(() => undefined);
  }

  /** Marks everything up to `seq` as stored by the control plane (the journal deletes what is done). */
  ack(seq: number): Promise<void> {
    this.acked = Math.max(this.acked, seq);
    while (this.pending.length > 0 && (this.pending[0]?.seq ?? Infinity) <= this.acked) this.pending.shift();
    this.journal.ack(this.sessionId, this.acked);
    return Promise.resolve();
  }

  /** Refills `pending` from the journal (after a restart or once the in-memory cap was hit). */
  async reload(): Promise<void> {
    const after = Math.max(this.acked, this.pending[this.pending.length - 1]?.seq ?? -1);
    const { events, more } = await this.journal.readSession(this.sessionId, after, MAX_PENDING_IN_MEMORY - this.pending.length);
    for (const event of events) {
      rememberEncodedSize(event, Buffer.byteLength(JSON.stringify(event)));
      if (event.type === 'pg.end' || event.type === 'session.end') this.ended = true;
      this.durableSeq = Math.max(this.durableSeq, event.seq);
    }
    this.pending.push(...events);
    this.diskBacklog = more;
  }

  /**
   * The sessions a previous run left in the journal (and in per-session files of older agents, which
   * are moved into the journal first). They are over: whatever they recorded is all there will be.
   */
  static async restore(journal: RecordingJournal): Promise<SessionSpool[]> {
    // The journal first (synchronously queued): an append made meanwhile waits for it.
    const restoring = journal.restore(MAX_PENDING_IN_MEMORY);
    const legacy = await readLegacyFiles(journal.dir);
    const restored = await restoring;
    const spools = new Map<string, SessionSpool>();
    for (const session of restored) {
      const spool = new SessionSpool(session.sessionId, journal);
      spool.acked = session.acked;
      spool.ended = true;
      spool.nextSeq = session.lastSeq + 1;
      spool.durableSeq = session.lastSeq;
      for (const event of session.events) rememberEncodedSize(event, Buffer.byteLength(JSON.stringify(event)));
      spool.pending.push(...session.events);
      spool.diskBacklog = session.more;
      spools.set(spool.sessionId, spool);
    }
    for (const file of legacy) {
      let spool = spools.get(file.sessionId);
      if (!spool) {
        spool = new SessionSpool(file.sessionId, journal);
        spool.acked = file.acked;
        spool.ended = true;
        spools.set(file.sessionId, spool);
      }
      const known = new Set(spool.pending.map((e) => e.seq));
      const writes: Promise<void>[] = [];
      for (const event of file.events) {
        if (event.seq <= spool.acked || known.has(event.seq)) continue;
        writes.push(journal.append(file.sessionId, event));
        if (spool.pending.length < MAX_PENDING_IN_MEMORY) spool.pending.push(event);
        else spool.diskBacklog = true;
        spool.nextSeq = Math.max(spool.nextSeq, event.seq + 1);
        spool.durableSeq = Math.max(spool.durableSeq, event.seq);
      }
      await journal.flushed();
      await Promise.all(writes);
      spool.pending.sort((a, b) => a.seq - b.seq);
      // In the journal (fsynced) now: the old files can go.
      await rm(join(journal.dir, `${file.sessionId}.jsonl`), { force: true });
      await rm(join(journal.dir, `${file.sessionId}.ack`), { force: true });
    }
    return [...spools.values()].filter((s) => s.pending.length > 0 || s.diskBacklog);
  }
}

/** Per-session spool files (`<session>.jsonl` and `.ack`) written by agents before the journal. */
async function readLegacyFiles(dir: string): Promise<{ sessionId: string; acked: number; events: RecordingEvent[] }[]> {
  await mkdir(dir, { recursive: true });
  const out: { sessionId: string; acked: number; events: RecordingEvent[] }[] = [];
  for (const name of await readdir(dir)) {
    const sessionId = SESSION_FILE.exec(name)?.[1];
    if (!sessionId) continue;
    const acked = Number.parseInt(await readFile(join(dir, `${sessionId}.ack`), 'utf8').catch(() => '-1'), 10);
    const events: RecordingEvent[] = [];
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      if (line === '') continue;
      try {
        events.push(JSON.parse(line) as RecordingEvent);
      } catch {
        // a torn last line: never acknowledged, never complete
      }
    }
    out.push({ sessionId, acked: Number.isFinite(acked) ? acked : -1, events });
  }
  return out;
}
