import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

/** One session's spooled events: the JSONL file on disk and the unacknowledged tail in memory. */
export class SessionSpool {
  readonly pending: RecordingEvent[] = [];
  /** Events exist on disk that are not in `pending` (memory cap reached, or loaded after a restart). */
  diskBacklog = false;
  acked = -1;
  nextSeq = 0;
  ended = false;
  private writes: Promise<void> = Promise.resolve();
  private dirReady = false;

  constructor(readonly sessionId: string, private readonly dir: string) {}

  get file(): string {
    return join(this.dir, `${this.sessionId}.jsonl`);
  }
  private get ackFile(): string {
    return join(this.dir, `${this.sessionId}.ack`);
  }

  /** Appends one event; resolves once it is on disk (fsync). */
  append(type: string, data: Record<string, unknown>): Promise<void> {
    const event = fitEvent({ seq: this.nextSeq++, at: new Date().toISOString(), type, data });
    if (type === 'pg.end' || type === 'session.end') this.ended = true;
    if (this.pending.length < MAX_PENDING_IN_MEMORY && !this.diskBacklog) this.pending.push(event);
    else this.diskBacklog = true;
    const line = `${JSON.stringify(event)}\n`;
    // Each write starts after the previous one whatever its outcome: one failed write (a full disk)
    // must not wedge every later event of the session.
    const write = this.writes.catch(() => undefined).then(async () => {
      if (!this.dirReady) {
        await mkdir(this.dir, { recursive: true });
        this.dirReady = true;
      }
      const handle = await open(this.file, 'a');
      try {
        await handle.appendFile(line);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    this.writes = write;
    return write;
  }

  /** Settles when every write so far is done; a failed write was reported to its caller. */
  flushed(): Promise<void> {
    return this.writes.catch(() => undefined);
  }

  /** Marks everything up to `seq` as stored by the control plane. */
  async ack(seq: number): Promise<void> {
    this.acked = Math.max(this.acked, seq);
    while (this.pending.length > 0 && (this.pending[0]?.seq ?? Infinity) <= this.acked) this.pending.shift();
    await this.writes;
    if (this.ended && this.pending.length === 0 && !this.diskBacklog && this.acked >= this.nextSeq - 1) {
      await rm(this.file, { force: true });
      await rm(this.ackFile, { force: true });
      return;
    }
    await writeFile(this.ackFile, String(this.acked));
  }

  /** Refills `pending` from the file (after a restart or once the in-memory cap was hit). */
  async reload(): Promise<void> {
    await this.writes;
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
      if (event.seq <= this.acked || this.pending.some((e) => e.seq === event.seq)) continue;
      if (this.pending.length + events.length >= MAX_PENDING_IN_MEMORY) {
        more = true;
        continue;
      }
      events.push(event);
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
      await spool.reload();
      spools.push(spool);
    }
    return spools;
  }
}

