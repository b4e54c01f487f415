import { Masker, MASK_ENTITIES } from '@gw/masking';
import type { StatementClassification } from '@gw/sql';
import type { SessionRecorder } from '../../recording/recording-shipper.js';
import { binaryScalarText, sampleRow, type MaskField } from './row-masking.js';
import type { ApprovalRecord } from './statement-approval.js';
import type { StatementVerdict } from './statement-policy.js';

export const MAX_RECORDED_TEXT = 64 * 1024;
/** Masked statement texts a session keeps, and the longest text kept (a few KiB per session at most). */
const MASKED_TEXT_CACHE_ENTRIES = 32;
const MASKED_TEXT_CACHE_MAX_LENGTH = 2048;

/** One statement as the recording sees it, from decision to completion. */
export interface StatementRun {
  text: string;
  kind: string;
  actions: readonly string[];
  tables: string[];
  /** The classification, for masking that needs the statement's own tables and columns. */
  statement?: StatementClassification;
  verdict: StatementVerdict;
  params?: string[];
  started: number;
  rows: number;
  sample: (string | null)[][];
  done: boolean;
  /** Set when the statement was held for approval (or ran under a session-wide approval). */
  approval?: ApprovalRecord;
  /** A CLOSE (or DISCARD ALL): the cursor it closes and the gate's cursor mark when it was decided. */
  cursorClose?: { name: string | null; mark: number };
}

export function cutText(text: string): string {
  return text.length > MAX_RECORDED_TEXT ? `${text.slice(0, MAX_RECORDED_TEXT)}…` : text;
}

/**
 * The statement recording of one session: what a statement's record holds (text and parameters with
 * every recognized entity masked, the decision, the result's size and first rows as the client saw
 * them) and when it is written. The record is a plain object built once when the statement ends and
 * serialized by the journal's group flush, not on the session's path.
 */
export class StatementRecording {
  private readonly masker: Masker;
  /**
   * Texts recur (a prepared statement's on every Execute, a pool's same queries), and scanning one
   * for every entity costs more than the rest of its record: the masked form of recent short texts is
   * kept. Masking depends only on the text (the recording's masker is fixed for the session).
   */
  private readonly maskedTexts = new Map<string, string>();

  constructor(
    private readonly recorder: SessionRecorder,
    maskingKey: Buffer,
    private readonly sampleRows: number,
    /** The recording event a finished statement becomes (`mysql.statement` for the MySQL wing). */
    private readonly eventType = 'pg.statement',
  ) {
    this.masker = new Masker({ entities: MASK_ENTITIES.map((entity) => ({ entity, style: 'full' })), columns: [] }, { key: maskingKey });
  }

  /** A statement's text as it may be recorded: cut to 64 KiB, every recognized entity masked. */
  maskText(text: string): string {
    const known = this.maskedTexts.get(text);
    if (known !== undefined) return known;
    const masked = this.masker.maskEntities(cutText(text));
    if (text.length <= MASKED_TEXT_CACHE_MAX_LENGTH) {
      // Oldest first out: a Map iterates in insertion order.
      if (this.maskedTexts.size >= MASKED_TEXT_CACHE_ENTRIES) this.maskedTexts.delete(this.maskedTexts.keys().next().value!);
      this.maskedTexts.set(text, masked);
    }
    return masked;
  }

  /** A value (a parameter, a message) as it may be recorded: as maskText, never kept (values rarely recur). */
  maskValue(text: string): string {
    return this.masker.maskEntities(cutText(text));
  }

  /** A Bind parameter as it may be recorded; `typeOid` is the type its Parse declared (0: none). */
  describeParam(value: Buffer | null, format: 0 | 1 | undefined, typeOid = 0): string {
    if (value === null) return 'NULL';
    if (format === 1) {
      const text = binaryScalarText(value, typeOid);
      return text === undefined ? `<binary ${value.length} bytes>` : this.maskValue(text);
    }
    return this.maskValue(value.toString('utf8'));
  }

  newRun(text: string, verdict: StatementVerdict, s?: StatementClassification): StatementRun {
    return {
      text: this.maskText(text),
      kind: s?.kind ?? 'unknown',
      actions: s?.actions ?? [],
      tables: s ? [...new Set([...s.tablesRead, ...s.tablesWritten])] : [],
      ...(s ? { statement: s } : {}),
      verdict,
      started: Date.now(),
      rows: 0,
      sample: [],
      done: false,
    };
  }

  /** Counts a row the client receives and keeps the first ones, as shown (masked). */
  addRow(run: StatementRun, shown: readonly (Buffer | null)[], fields: readonly MaskField[]): void {
    run.rows += 1;
    if (run.sample.length < this.sampleRows) run.sample.push(sampleRow(shown, fields));
  }

  /**
   * Records a finished statement once. Returns the promise of its durability when the client's
   * answer must wait for it (`durable`), undefined when it was already recorded.
   */
  finish(run: StatementRun, tag: string | undefined, error: { code: string; message: string } | undefined, durable: boolean): Promise<void> | undefined {
    if (run.done) return undefined;
    run.done = true;
    const rowCount = tag ? Number(/(\d+)$/.exec(tag)?.[1] ?? NaN) : NaN;
    const data = {
      text: run.text,
      kind: run.kind,
      actions: run.actions,
      tables: run.tables,
      decision: run.verdict.effect,
      policies: run.verdict.policies,
      reasons: run.verdict.reasons,
      ...(run.params ? { params: run.params } : {}),
      ...(run.approval ? { approval: run.approval } : {}),
      durationMs: Date.now() - run.started,
      ...(tag !== undefined ? { tag } : {}),
      ...(Number.isFinite(rowCount) ? { rowCount } : {}),
      ...(error ? { error } : {}),
      ...(run.sample.length > 0 ? { rows: run.sample } : {}),
    };
    if (!durable) {
      this.recorder.record(this.eventType, data);
      return undefined;
    }
    return this.recorder.recordDurable(this.eventType, data);
  }
}
