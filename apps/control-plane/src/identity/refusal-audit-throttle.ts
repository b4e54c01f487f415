/*
 * Refused credentials are audited, and anyone who can reach an endpoint can present one: without a
 * bound, a client looping on bad tokens writes an audit row per attempt, grows the table without end
 * and queues every other audit write (sessions, grants) behind the chain's lock. So each source
 * address gets a number of individually audited refusals per window; the rest of that window's
 * refusals are counted and audited as one summary when the window ends. Nothing is dropped from the
 * record: the summary says how many, with which codes, and samples of token ids and paths.
 */

/** What one refused credential contributes to its source's summary. */
export interface RefusalDetail {
  code: string;
  tokenId: string | null;
  path: string;
}

/** The refusals of one source and kind that were counted instead of audited one by one. */
export interface SuppressedRefusals {
  /** The source address; `*` when too many sources were being tracked at once (see maxSources). */
  sourceIp: string | null;
  /** The audit action the refusals would have had (`auth.token_refused`, `auth.attestation_refused`). */
  action: string;
  count: number;
  /** Refusal codes and how often each came. */
  codes: Record<string, number>;
  firstAt: Date;
  lastAt: Date;
  /** Distinct token ids and paths seen, at most SAMPLE_SIZE of each. */
  tokenIds: string[];
  paths: string[];
}

/** Distinct token ids (and paths) a summary keeps as examples. */
const SAMPLE_SIZE = 5;
/** The shared bucket of sources beyond maxSources (an address spray is one summary, still counted). */
export const OVERFLOW_SOURCE = '*';
/** Summaries waiting to be written (the database may be down a while); more are merged into one per kind. */
const MAX_WAITING_SUMMARIES = 10_000;

interface SourceWindow {
  startedAt: number;
  audited: number;
  suppressed?: SuppressedRefusals;
}

export class RefusalAuditThrottle {
  private readonly windows = new Map<string, SourceWindow>();
  /** Summaries of windows that ended, waiting for takeSummaries. */
  private ended: SuppressedRefusals[] = [];
  /** When a full map was last swept for ended windows (at most once a second: a sweep walks every source). */
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    /** Refusals audited one by one per source and kind in each window. */
    private readonly perWindow: number,
    private readonly windowMs = 60_000,
    /** Sources tracked at once; refusals of further sources share one bucket until windows end. */
    private readonly maxSources = 10_000,
  ) {}

  /** True: audit this refusal on its own. False: it was counted into its source's summary. */
  admit(sourceIp: string | null, action: string, detail: RefusalDetail, now = Date.now()): boolean {
    const key = this.keyFor(sourceIp, action, now);
    let window = this.windows.get(key.id);
    if (window && now - window.startedAt >= this.windowMs) {
      this.endWindow(key.id, window);
      window = undefined;
    }
    if (!window) {
      window = { startedAt: now, audited: 0 };
      this.windows.set(key.id, window);
    }
    if (window.audited < this.perWindow) {
      window.audited += 1;
      return true;
    }
    const summary = (window.suppressed ??= {
      sourceIp: key.sourceIp, action, count: 0, codes: {}, firstAt: new Date(now), lastAt: new Date(now), tokenIds: [], paths: [],
    });
    summary.count += 1;
    summary.codes[detail.code] = (summary.codes[detail.code] ?? 0) + 1;
    summary.lastAt = new Date(now);
    if (detail.tokenId !== null && summary.tokenIds.length < SAMPLE_SIZE && !summary.tokenIds.includes(detail.tokenId)) summary.tokenIds.push(detail.tokenId);
    if (summary.paths.length < SAMPLE_SIZE && !summary.paths.includes(detail.path)) summary.paths.push(detail.path);
    return false;
  }

  /** The summaries of every window that has ended by `now` (with `all`, of every window: at shutdown). */
  takeSummaries(now = Date.now(), all = false): SuppressedRefusals[] {
    for (const [id, window] of this.windows) {
      if (all || now - window.startedAt >= this.windowMs) this.endWindow(id, window);
    }
    const taken = this.ended;
    this.ended = [];
    return taken;
  }

  /** Summaries that could not be written (the database was down) wait for the next take. */
  giveBack(summaries: readonly SuppressedRefusals[]): void {
    const waiting = this.ended;
    this.ended = [];
    for (const s of [...summaries, ...waiting]) this.keep(s);
  }

  private endWindow(id: string, window: SourceWindow): void {
    this.windows.delete(id);
    if (window.suppressed) this.keep(window.suppressed);
  }

  /** Queues a summary; past MAX_WAITING_SUMMARIES it is added to the last one of its kind under OVERFLOW_SOURCE. */
  private keep(summary: SuppressedRefusals): void {
    if (this.ended.length < MAX_WAITING_SUMMARIES) {
      this.ended.push(summary);
      return;
    }
    let overflow = this.ended.findLast((s) => s.sourceIp === OVERFLOW_SOURCE && s.action === summary.action);
    if (!overflow) {
      overflow = { ...summary, sourceIp: OVERFLOW_SOURCE, codes: {}, count: 0, tokenIds: [], paths: [] };
      this.ended.push(overflow);
    }
    overflow.count += summary.count;
    for (const [code, n] of Object.entries(summary.codes)) overflow.codes[code] = (overflow.codes[code] ?? 0) + n;
    if (summary.firstAt < overflow.firstAt) overflow.firstAt = summary.firstAt;
    if (summary.lastAt > overflow.lastAt) overflow.lastAt = summary.lastAt;
  }

  private keyFor(sourceIp: string | null, action: string, now: number): { id: string; sourceIp: string | null } {
    const id = `${action} ${sourceIp ?? ''}`;
    if (this.windows.has(id) || this.windows.size < this.maxSources) return { id, sourceIp };
    // Full: ended windows make room first; a source still beyond the bound shares the overflow bucket.
    if (now - this.lastSweep >= 1000) {
      this.lastSweep = now;
      for (const [other, window] of this.windows) {
        if (now - window.startedAt >= this.windowMs) this.endWindow(other, window);
      }
      if (this.windows.size < this.maxSources) return { id, sourceIp };
    }
    return { id: `${action} ${OVERFLOW_SOURCE}`, sourceIp: OVERFLOW_SOURCE };
  }
}
