import { SqlClassificationError, classifySql, type StatementClassification } from '@gw/sql';
import { MAX_APPROVAL_DETAIL_CHARS } from '@gw/contracts';
import type { ApprovalOutcome, ApprovalRequested, HoldForApproval } from '../../approvals/approval-client.js';
import { mergeMasking, type MaskingObligation } from '@gw/policy';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import type { ApprovalRecord } from './statement-approval.js';
import { MAX_RECORDED_TEXT } from './statement-recording.js';
import { decisionKey } from './decision-key.js';
import { CursorRegistry } from './cursor-registry.js';
import { combineVerdicts, decideStatement, denied, type SessionPolicyContext, type StatementVerdict } from './statement-policy.js';

/** Distinct open cursor declarations remembered per session (psql's FETCH_COUNT reuses one name; closed ones are forgotten). */
const MAX_CURSOR_QUERIES = 10_000;

/**
 * Where a session's statements are understood and decided: classification with the real parser
 * (anything it cannot classify is denied), the policy decision, and the approval hold for statements
 * that need a human, with the approvals of scope `session` remembered by fingerprint.
 */
export class StatementGate {
  /** Fingerprints an approver allowed for the rest of this session, with the approval that did it. */
  private readonly approvedFingerprints = new Map<string, string>();
  /** The approval wait in progress, if any: a client's CancelRequest ends it. */
  private holding: AbortController | undefined;
  /** The rules objects (verdicts share them) whose masking `decided` holds. */
  private readonly maskingsSeen = new WeakSet<MaskingObligation>();
  /** The masking of every statement decided so far, merged (the stronger style wins). */
  private decided: MaskingObligation = EMPTY_MASKING;
  private sessionMaskingMemo: { read: MaskingObligation; decided: MaskingObligation; merged: MaskingObligation } | undefined;
  /** The queries each cursor name was declared with (see decideCursor). */
  private readonly cursors = new CursorRegistry(MAX_CURSOR_QUERIES);

  constructor(
    private readonly policy: PolicyHolder,
    readonly context: SessionPolicyContext,
    private readonly holdForApproval: HoldForApproval | undefined,
    /** Aborted when the session ends: any approval wait ends with it. */
    private readonly lifetime: AbortSignal,
    /** The wire protocol, as approvers see it on a held statement (the MySQL wing shares this gate). */
    private readonly protocol: 'postgres' | 'mysql' = 'postgres',
  ) {}

  /** The statements of `text`, or the denial when it cannot be classified (fail closed). */
  classify(text: string): readonly StatementClassification[] | StatementVerdict {
    try {
      return classifySql(text);
    } catch (error) {
      if (error instanceof SqlClassificationError) return denied(`could not classify statement: ${error.message}; denied`);
      throw error;
    }
  }

  decide(statement: StatementClassification): StatementVerdict {
    const verdict = this.decideCursor(statement);
    // Binary COPY rows are the types' send formats with nothing to say which: masking cannot read
    // them, so the statement is refused before it runs (the session goes on).
    if (statement.copyFormat === 'binary' && verdict.effect !== 'deny' && (verdict.masking.entities.length > 0 || verdict.masking.columns.length > 0)) {
      return denied('COPY output in binary format cannot be masked, and masking applies to this statement; use FORMAT text or csv');
    }
    if (verdict.effect !== 'deny' && (verdict.masking.entities.length > 0 || verdict.masking.columns.length > 0) && !this.maskingsSeen.has(verdict.masking)) {
      this.maskingsSeen.add(verdict.masking);
      this.decided = mergeMasking([this.decided, verdict.masking]);
    }
    return verdict;
  }

  /**
   * A FETCH returns the rows of the query its cursor was declared with, which the FETCH text does not
   * show: it is decided as that query (its tables, its masking, its values derived from ruled columns).
   * Every query a name was declared with stays until the server confirms the cursor closed (a later
   * DECLARE the server refuses must not replace the live one; see CursorRegistry): a FETCH is decided
   * as all of them together. A cursor the gateway did not see declared
   * (one a function opened, a protocol portal) is refused: nothing says what it reads.
   */
  private decideCursor(statement: StatementClassification): StatementVerdict {
    const own = decideStatement(this.policy, this.context, statement);
    const cursor = statement.cursor;
    if (cursor === undefined || own.effect === 'deny') return own;
    if (cursor.use === 'declare') {
      return this.declareCursor(cursor.name, statement, cursor.hold === true) ? own : denied(`more than ${MAX_CURSOR_QUERIES} open cursor declarations in one session; close cursors you no longer read; denied`);
    }
    const declared = this.cursors.queries(cursor.name);
    if (declared === undefined) return denied(`cursor "${cursor.name}" was not declared through the gateway, so what it reads is not known; denied`);
    return combineVerdicts([own, ...declared.map((query) => decideStatement(this.policy, this.context, query))]);
  }

  /**
   * Remembers what a cursor name reads: a DECLARE, or a protocol Bind to a named portal (the server's
   * SQL FETCH reads such a portal too; a portal never outlives its transaction). False when the session
   * already holds too many.
   */
  declareCursor(name: string, statement: StatementClassification, hold = false): boolean {
    return this.cursors.declare(name, statement, decisionKey(statement), hold);
  }

  /** Where the cursor declarations stand now: take it when sending a message that may close cursors (see CursorRegistry). */
  get cursorMark(): number {
    return this.cursors.mark;
  }

  /** The server confirmed a CLOSE of `name` (`null`: all) sent at `mark`. */
  cursorClosed(name: string | null, mark: number): void {
    this.cursors.closed(name, mark);
  }

  /** The server is idle again after the message sent at `mark`: cursors without HOLD and portals are gone. */
  transactionEnded(mark: number): void {
    this.cursors.transactionEnded(mark);
  }

  /** Cursor declarations held (tests, stats). */
  get cursorDeclarations(): number {
    return this.cursors.size;
  }

  /**
   * The masking for what the server sends outside any statement, or during one the agent has no
   * verdict for: a notification delivered while the session is idle (another session's `pg_notify`),
   * a notice or parameter status between statements. It is the masking of a plain read now, merged
   * with that of every statement this session has run: data reaching the client this way is data
   * it could have read, so it is masked at least as reads are (never less: fail closed).
   */
  sessionMasking(): MaskingObligation {
    const classified = this.classify('SELECT 1');
    const read = 'effect' in classified ? undefined : classified[0];
    const readMasking = read ? decideStatement(this.policy, this.context, read).masking : EMPTY_MASKING;
    const memo = this.sessionMaskingMemo;
    if (memo?.read === readMasking && memo.decided === this.decided) return memo.merged;
    const merged = mergeMasking([readMasking, this.decided]);
    this.sessionMaskingMemo = { read: readMasking, decided: this.decided, merged };
    return merged;
  }

  /** An approval with scope `session` covering every fingerprint that needs one. */
  standing(fingerprints: readonly string[]): ApprovalRecord | undefined {
    if (fingerprints.length === 0 || fingerprints.some((f) => !f || !this.approvedFingerprints.has(f))) return undefined;
    return { id: this.approvedFingerprints.get(fingerprints[0]!)!, status: 'approved', scope: 'session', by: null };
  }

  /** Remembers an approval of scope `session` for these fingerprints. */
  remember(outcome: ApprovalOutcome, fingerprints: readonly string[]): void {
    if (outcome.status !== 'approved' || outcome.scope !== 'session') return;
    for (const f of fingerprints) if (f) this.approvedFingerprints.set(f, outcome.approvalId);
  }

  /**
   * Holds a statement for a human. `subject` is masked (stored, audited, shown to everyone who may
   * see the approval); `detail` is the real text and parameters for the approvers, sent only where
   * the policy lets them see values.
   */
  hold(verdict: StatementVerdict, subject: Record<string, unknown>, detail: Record<string, unknown>, onRequested: (info: ApprovalRequested) => void): Promise<ApprovalOutcome> {
    if (!this.holdForApproval) return Promise.resolve({ status: 'unavailable', reason: 'statement approvals are not available on this agent' });
    // An approver approves what they are shown: a statement (or value) cut to fit the approval would
    // let its unseen tail run too, so it is not held but refused.
    if (!shownInFull(subject, detail)) {
      return Promise.resolve({ status: 'unavailable', reason: `the statement or one of its values is too large to show an approver in full (over ${MAX_RECORDED_TEXT / 1024} KiB); run it in smaller parts` });
    }
    const full = { ...subject, protocol: this.protocol, dbRole: this.context.dbRole, policies: verdict.policies, reasons: verdict.reasons };
    const holding = new AbortController();
    this.holding = holding;
    return this.holdForApproval(full, verdict.approval, {
      detail,
      signal: AbortSignal.any([this.lifetime, holding.signal]),
      onRequested,
    }).finally(() => {
      if (this.holding === holding) this.holding = undefined;
    });
  }

  /** Ends the approval wait in progress (the client cancelled); false when nothing is held. */
  cancelHold(): boolean {
    if (!this.holding) return false;
    this.holding.abort('the client cancelled the statement');
    return true;
  }
}

const EMPTY_MASKING: MaskingObligation = { entities: [], columns: [] };

/** Whether the text and values of a held statement reach the approver uncut (cutText leaves longer strings one character over the limit). */
function shownInFull(subject: Record<string, unknown>, detail: Record<string, unknown>): boolean {
  const strings = [subject, detail].flatMap((part) => [part['text'], ...(Array.isArray(part['params']) ? (part['params'] as unknown[]) : [])]);
  if (strings.some((v) => typeof v === 'string' && v.length > MAX_RECORDED_TEXT)) return false;
  return JSON.stringify(detail).length <= MAX_APPROVAL_DETAIL_CHARS;
}
