import { NO_HINTS, type MaskingRules as MaskingObligation, type ValueHints } from '@gw/masking';
import {
  errorResponse,
  noticeResponse,
  type BackendMessage,
  type Bind,
  type Parse,
  type FieldDescription,
  type FrontendMessage,
  type FrontendParser,
  type BackendParser,
  type NoticeFields,
  type Parsed,
  serializeBackend,
  serializeFrontend,
} from '@gw/protocol-postgres';
import { PreparedStatementTracker, SqlClassificationError, type StatementClassification } from '@gw/sql';
import { hopMark } from '@gw/tunnel';
import type { Logger } from 'pino';
import type { HoldForApproval } from '../../approvals/approval-client.js';
import { DurableReleaseQueue } from '../../recording/durable-release.js';
import type { SessionRecorder } from '../../recording/recording-shipper.js';
import type { ColumnCatalog } from './column-catalog.js';
import { backendSignalCall, boundPid, resolveSignal, signalBind, signalParse, signalledQuery, type BackendSignalCall, type SignalBackend } from './backend-signal.js';
import { deniedBind, deniedParse, deniedQuery, newDenialMarker, rewriteDenial } from './deny-rewrite.js';
import { MessagePump, type DrainSignal, type PumpSource } from './message-pump.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import { describeResultFields } from './result-fields.js';
import { ResultMasking, copyHints, hasRules } from './result-masking.js';
import { UnmaskableValueError, type MaskField } from './row-masking.js';
import { approvalNotice, approvalRecord, refusedByApproval, type ApprovalRecord } from './statement-approval.js';
import { StatementGate } from './statement-gate.js';
import { NO_MASKING, combineVerdicts, denialMessage, denied, derivesMaskedValues, type SessionPolicyContext, type StatementVerdict } from './statement-policy.js';
import { StatementRecording, cutText, type StatementRun } from './statement-recording.js';
import { functionCallClassification } from './fast-path.js';
import { withDeclaredParameterTypes } from './user-types.js';

/** Result shape of a portal (extended protocol), filled in by the server's answers. */
interface Portal {
  verdict: StatementVerdict;
  statement: StatementClassification | undefined;
  params: string[];
  fields: MaskField[] | undefined;
  described: boolean;
  approval?: ApprovalRecord;
  /** The gate's cursor mark when it was bound: a ReadyForQuery after it (idle) means the portal is gone; its CLOSE closes what came before. */
  cursorMark: number;
}

/** What the server will answer next, in order: one entry per message that gets an answer. */
type Pending =
  | { kind: 'query'; runs: StatementRun[]; index: number; verdict: StatementVerdict; marker?: string; fields?: MaskField[]; prepared: string[]; cursorMark?: number }
  | { kind: 'parse'; name: string; added: boolean; marker?: string; run?: StatementRun }
  | { kind: 'bind'; portal: Portal; marker?: string; run?: StatementRun }
  | { kind: 'describe'; target: 'S' | 'P'; portal?: Portal; internal: boolean }
  | { kind: 'execute'; portal: Portal; run: StatementRun }
  | { kind: 'close'; portal?: string; cursorMark?: number }
  | { kind: 'sync'; cursorMark?: number }
  | { kind: 'function'; marker?: string; run: StatementRun; cursorMark?: number };

/** One side of the session as the core sees it: bytes out, backpressure, and flow control of what comes in. */
export interface SessionPort extends PumpSource, DrainSignal {
  /** False when the side buffers more than it should: 'drain' follows. */
  write(bytes: Buffer): boolean;
  cork(): void;
  uncork(): void;
  /** Ends our direction once written (client: after the last answer; database: after Terminate). */
  end(): void;
}

/** The client side (the tunnel stream): it may be gone before the core knows. */
export interface ClientPort extends SessionPort {
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
}

/** The database side: closed outright when the session ends. */
export interface ServerPort extends SessionPort {
  destroy(): void;
}

export interface PgSessionCoreOptions {
  client: ClientPort;
  frontend: FrontendParser;
  server: ServerPort;
  backend: BackendParser;
  policy: PolicyHolder;
  policyContext: SessionPolicyContext;
  catalog: ColumnCatalog;
  maskingKey: Buffer;
  recorder: SessionRecorder;
  sampleRows: number;
  log: Logger;
  /**
   * Holds a statement for a human (see ApprovalClient.requestApproval). Absent: statements that
   * need an approval are refused.
   */
  holdForApproval?: HoldForApproval;
  /** Server answers held back at most, waiting for their records to be durable, before the database is paused. */
  maxHeldBytes?: number;
  /** Called once when the session is over (both sides closed), with the reason. */
  onEnd: (reason: string, bytes: { in: number; out: number }) => void;
  /** The tunnel stream's id, for the benchmark's hop trace (see @gw/tunnel hop-trace). */
  traceId?: number;
  /** `pg_cancel_backend(<gateway pid>)` goes to the control plane (see backend-signal.ts); absent: left to policy. */
  signalBackend?: SignalBackend;
}

export type { HoldForApproval } from '../../approvals/approval-client.js';

const MAX_PORTALS = 1000;

/**
 * One Postgres session after login, without sockets: bytes come in through clientBytes() and
 * serverBytes(), and go out through the two ports. Every client message is classified and decided by
 * policy (StatementGate) before it reaches the server; result rows are masked (ResultMasking) before
 * they reach the client; every statement is recorded (StatementRecording), and its end reaches the
 * client only once its record is durable (DurableReleaseQueue). Denials are delegated to the server
 * (see deny-rewrite.ts), so the server stays the only source of ReadyForQuery and transaction state.
 * PgSession wires it to the tunnel stream and the database socket.
 */
export class PgSessionCore {
  private readonly pending: Pending[] = [];
  private readonly tracker = new PreparedStatementTracker();
  private readonly portals = new Map<string, Portal>();
  /** Prepared statements that are a bare `pg_cancel_backend($1)`: their Bind asks the control plane. */
  private readonly signalStatements = new Map<string, BackendSignalCall>();
  /** The parameter types each Parse declared, by statement name: the recording decodes binary parameters with them. */
  private readonly declaredParamTypes = new Map<string, readonly number[]>();
  private readonly gate: StatementGate;
  private readonly masking: ResultMasking;
  private readonly recording: StatementRecording;
  private readonly fromClient: MessagePump<Parsed<FrontendMessage>>;
  private readonly fromServer: MessagePump<Parsed<BackendMessage>>;
  /** The server is discarding extended-protocol messages until the next Sync. */
  private skipToSync = false;
  private copyOutMasking: StatementVerdict | undefined;
  private copyOutHints: ValueHints = NO_HINTS;
  private ended = false;
  /** Ends any approval wait when the session ends. */
  private readonly lifetime = new AbortController();
  private bytesIn = 0;
  private bytesOut = 0;
  /** Server answers to the client, held behind the records they depend on until those are durable. */
  private readonly toClientInOrder: DurableReleaseQueue;

  private readonly traceId: number;

  constructor(private readonly o: PgSessionCoreOptions) {
    this.traceId = o.traceId ?? 0;
    this.gate = new StatementGate(o.policy, o.policyContext, o.holdForApproval, this.lifetime.signal);
    this.masking = new ResultMasking(o.maskingKey);
    this.recording = new StatementRecording(o.recorder, o.maskingKey, o.sampleRows);
    this.fromClient = new MessagePump(o.client, (c) => {
      this.bytesIn += c.length;
      return o.frontend.parse(c);
    }, (m) => this.onClientMessage(m), (e) => this.fail(e, 'client'), o.server);
    // One chunk of the answer is one batch: its rows wait with its end when the end is in it too.
    const serverChunk = {
      cork: () => {
        o.client.cork();
        this.toClientInOrder.beginBatch();
      },
      uncork: () => {
        this.toClientInOrder.endBatch();
        o.client.uncork();
      },
    };
    this.fromServer = new MessagePump(o.server, (c) => {
      hopMark('agent.res.in', this.traceId);
      return o.backend.parse(c);
    }, (m) => this.onServerMessage(m), (e) => this.fail(e, 'server'), serverChunk);
    this.toClientInOrder = new DurableReleaseQueue({
      write: (bytes) => this.writeToClient(bytes),
      cork: () => o.client.cork(),
      uncork: () => o.client.uncork(),
      pause: () => this.fromServer.hold(),
      resume: () => this.fromServer.release(),
      failed: (error) => this.recordingFailed(error),
    }, o.maxHeldBytes);
  }

  /** Starts: handles what the parsers already hold (read before the session existed) and reads on. */
  start(): void {
    this.o.client.resume();
    this.o.server.resume();
    this.fromClient.kick();
    this.fromServer.kick();
  }

  /** Bytes from the client (the tunnel stream). */
  clientBytes(chunk: Buffer): void {
    this.fromClient.push(chunk);
  }

  /** Bytes from the database. */
  serverBytes(chunk: Buffer): void {
    this.fromServer.push(chunk);
  }

  /** Sends the client a FATAL error and ends the session (expiry, kill). */
  terminate(code: string, message: string): void {
    if (this.ended) return;
    // Behind any answer still waiting for its record: the client sees what it was due, then the FATAL.
    this.toClient(errorResponse({ severity: 'FATAL', code, message }));
    this.end(message);
  }

  /** A client's CancelRequest while a statement is held for approval drops it; false when nothing is held. */
  cancelHold(): boolean {
    return this.gate.cancelHold();
  }

  /** Cursor and portal declarations the session still holds (tests, stats). */
  get cursorDeclarations(): number {
    return this.gate.cursorDeclarations;
  }

  /** True once the session has ended. */
  get isEnded(): boolean {
    return this.ended;
  }

  // ---------------------------------------------------------------- client -> server

  private toServer(bytes: Buffer): void {
    hopMark('agent.req.upstream', this.traceId);
    if (!this.o.server.write(bytes)) this.fromClient.waitForDrain(this.o.server);
  }

  private onClientMessage(m: Parsed<FrontendMessage>): void | Promise<void> {
    switch (m.kind) {
      case 'Query':
        return this.onQuery(m.sql, m.raw);
      case 'Parse':
        return this.onParse(m);
      case 'Bind':
        return this.onBind(m);
      case 'Describe': {
        const portal = m.target === 'P' ? this.portals.get(m.name) : undefined;
        if (portal) portal.described = true;
        this.expect({ kind: 'describe', target: m.target, ...(portal ? { portal } : {}), internal: false });
        return this.toServer(m.raw);
      }
      case 'Execute':
        return this.onExecute(m.portal, m.raw);
      case 'Close':
        if (m.target === 'S') {
          this.tracker.closeProtocolStatement(m.name);
          this.signalStatements.delete(m.name);
          this.declaredParamTypes.delete(m.name);
          this.expect({ kind: 'close' });
        } else {
          this.portals.delete(m.name);
          this.expect({ kind: 'close', portal: m.name, cursorMark: this.gate.cursorMark });
        }
        return this.toServer(m.raw);
      case 'Sync':
        this.pending.push({ kind: 'sync', cursorMark: this.gate.cursorMark });
        this.skipToSync = false;
        return this.toServer(m.raw);
      case 'FunctionCall':
        return this.onFunctionCall(m.functionOid, m.raw);
      case 'Flush':
      case 'CopyData':
      case 'CopyDone':
      case 'CopyFail':
        return this.toServer(m.raw);
      case 'Terminate':
        this.toServer(m.raw);
        this.o.server.end();
        return;
      case 'AuthenticationResponse':
      case 'StartupMessage':
      case 'SSLRequest':
      case 'GSSENCRequest':
      case 'CancelRequest':
        throw new Error(`unexpected ${m.kind} after login`);
    }
  }

  /**
   * The server is idle after the message sent at `mark`: its transaction, and with it every portal
   * and cursor without HOLD from before that message, is gone. Portals bound later are kept.
   */
  private transactionEnded(mark: number): void {
    this.gate.transactionEnded(mark);
    for (const [name, portal] of this.portals) if (name !== '' && portal.cursorMark <= mark) this.portals.delete(name);
  }

  /** Queues the expected answer, unless the server is skipping to Sync (it will not answer). */
  private expect(entry: Pending): void {
    // What ends with a ReadyForQuery notes where cursor declarations stood when it was sent.
    if (entry.kind === 'query' || entry.kind === 'function') entry.cursorMark = this.gate.cursorMark;
    if (!this.skipToSync) this.pending.push(entry);
  }

  private newRun(text: string, verdict: StatementVerdict, s?: StatementClassification): StatementRun {
    return this.recording.newRun(text, verdict, s);
  }

  private onQuery(sql: string, raw: Buffer): void | Promise<void> {
    const classified = this.gate.classify(sql);
    if (isVerdict(classified)) return this.denyQuery(sql, classified);
    const call = classified.length === 1 && this.o.signalBackend ? backendSignalCall(classified[0]!) : undefined;
    if (call && call.pid !== 'param') return this.signalQuery(sql, raw, classified, call, call.pid);
    return this.decideQuery(sql, raw, classified);
  }

  /** `SELECT pg_cancel_backend(<pid>)`: the gateway's pid is answered here; any other goes to policy. */
  private async signalQuery(sql: string, raw: Buffer, classified: readonly StatementClassification[], call: BackendSignalCall, pid: number): Promise<void> {
    const resolution = await resolveSignal(call, pid, this.o.signalBackend);
    if (this.ended) return;
    if (resolution.kind === 'not-gateway-pid') return this.decideQuery(sql, raw, classified);
    if (resolution.kind === 'refused') return this.denyQuery(sql, resolution.verdict, [...classified]);
    this.expect({ kind: 'query', runs: [this.newRun(sql, resolution.verdict, classified[0])], index: 0, verdict: resolution.verdict, prepared: [] });
    this.toServer(signalledQuery(call));
  }

  private decideQuery(sql: string, raw: Buffer, classified: readonly StatementClassification[]): void | Promise<void> {
    const verdicts: StatementVerdict[] = [];
    const resolved: StatementClassification[] = [];
    const marks: number[] = [];
    const prepared: string[] = [];
    try {
      for (const s of classified) {
        // EXECUTE resolves against what is prepared, including a PREPARE earlier in this same Query.
        const effective = s.execute ? this.tracker.resolve(s) : s;
        resolved.push(effective);
        verdicts.push(this.gate.decide(effective));
        // A CLOSE closes what was declared before it, not what a later statement of the Query declares.
        marks.push(this.gate.cursorMark);
        if (s.prepared && !this.tracker.get(s.prepared.name)) prepared.push(s.prepared.name);
        this.tracker.observe(s);
      }
    } catch (error) {
      for (const name of prepared) this.tracker.closeProtocolStatement(name);
      if (error instanceof SqlClassificationError) return this.denyQuery(sql, denied(`could not classify statement: ${error.message}; denied`));
      throw error;
    }
    const verdict = combineVerdicts(verdicts);
    if (verdict.effect === 'require_approval') {
      const fingerprints = resolved.filter((_, i) => verdicts[i]?.effect === 'require_approval').map((s) => s.fingerprint);
      const standing = this.gate.standing(fingerprints);
      if (standing) return this.forwardQuery(raw, resolved, marks, verdict, prepared, standing);
      // Held: the pump keeps this client's later messages queued until the decision; other sessions go on.
      return this.holdQuery(sql, raw, verdict, resolved, marks, prepared, fingerprints);
    }
    if (verdict.effect !== 'allow') {
      for (const name of prepared) this.tracker.closeProtocolStatement(name);
      return this.denyQuery(sql, verdict, resolved);
    }
    this.forwardQuery(raw, resolved, marks, verdict, prepared);
  }

  /** `marks[i]`: the gate's cursor mark once statement i was decided (see CursorRegistry). */
  private forwardQuery(raw: Buffer, resolved: StatementClassification[], marks: readonly number[], verdict: StatementVerdict, prepared: string[], approval?: ApprovalRecord): void {
    const runs = resolved.map((s, i) => {
      const run = this.newRun(s.text, verdict, s);
      if (approval) run.approval = approval;
      if (s.closeCursor) run.cursorClose = { name: s.closeCursor.name, mark: marks[i] ?? 0 };
      return run;
    });
    this.expect({ kind: 'query', runs, index: 0, verdict, prepared });
    this.toServer(raw);
  }

  private async holdQuery(sql: string, raw: Buffer, verdict: StatementVerdict, resolved: StatementClassification[], marks: readonly number[], prepared: string[], fingerprints: string[]): Promise<void> {
    const outcome = await this.hold(verdict, {
      text: this.recording.maskText(sql),
      statementKinds: [...new Set(resolved.map((s) => s.kind))],
      actions: [...new Set(resolved.flatMap((s) => s.actions))].sort(),
      tables: [...new Set(resolved.flatMap((s) => [...s.tablesRead, ...s.tablesWritten]))].sort(),
      fingerprints,
    }, { text: cutText(sql) });
    if (this.ended) return;
    if (outcome.status === 'approved') {
      this.gate.remember(outcome, fingerprints);
      return this.forwardQuery(raw, resolved, marks, verdict, prepared, approvalRecord(outcome));
    }
    for (const name of prepared) this.tracker.closeProtocolStatement(name);
    this.denyQuery(sql, refusedByApproval(verdict, outcome), resolved, approvalRecord(outcome));
  }

  /** Holds a statement for a human; the client learns the approval id at once (NoticeResponse). */
  private hold(verdict: StatementVerdict, subject: Record<string, unknown>, detail: Record<string, unknown>) {
    return this.gate.hold(verdict, subject, detail, (info) => {
      if (!this.ended) this.toClient(noticeResponse(approvalNotice(info)));
    });
  }

  private denyQuery(sql: string, verdict: StatementVerdict, statements: StatementClassification[] = [], approval?: ApprovalRecord): void {
    const marker = newDenialMarker();
    const run = this.newRun(sql, verdict, statements.length === 1 ? statements[0] : undefined);
    if (approval) run.approval = approval;
    if (statements.length > 1) {
      run.kind = 'multi';
      run.actions = [...new Set(statements.flatMap((s) => s.actions))].sort();
      run.tables = [...new Set(statements.flatMap((s) => [...s.tablesRead, ...s.tablesWritten]))].sort();
    }
    this.expect({ kind: 'query', runs: [run], index: 0, verdict, marker, prepared: [] });
    this.toServer(deniedQuery(marker));
  }

  private onParse(m: Parsed<Parse>): void {
    const { statement: name, sql, raw } = m;
    this.signalStatements.delete(name);
    this.declaredParamTypes.delete(name);
    // As many as the portals kept: past that a binary parameter is recorded as its size only.
    if (m.paramTypes.length > 0 && this.declaredParamTypes.size < MAX_PORTALS) this.declaredParamTypes.set(name, m.paramTypes);
    const classified = this.gate.classify(sql);
    let verdict: StatementVerdict;
    let statement: StatementClassification | undefined;
    if (isVerdict(classified)) verdict = classified;
    else if (classified.length > 1) verdict = denied('a prepared statement cannot contain several statements; denied');
    else {
      statement = classified[0] && withDeclaredParameterTypes(classified[0], m.paramTypes);
      try {
        if (statement?.execute) statement = this.tracker.resolve(statement);
        verdict = statement ? this.gate.decide(statement) : { effect: 'allow', policies: [], reasons: [], masking: NO_MASKING };
      } catch (error) {
        if (!(error instanceof SqlClassificationError)) throw error;
        verdict = denied(`could not classify statement: ${error.message}; denied`);
      }
    }
    const call = statement && this.o.signalBackend ? backendSignalCall(statement) : undefined;
    if (call?.pid === 'param') {
      // Decided at Bind, where the pid is known: the control plane's answer, or policy for other pids.
      this.signalStatements.set(name, call);
      this.tracker.registerProtocolStatement(name, [statement!]);
      this.expect({ kind: 'parse', name, added: true });
      return this.toServer(signalParse(m, call));
    }
    // A statement that needs approval is held at Bind, where its parameters are known.
    if (verdict.effect === 'deny') {
      const marker = newDenialMarker();
      if (name === '') this.tracker.closeProtocolStatement('');
      this.expect({ kind: 'parse', name, added: false, marker, run: this.newRun(sql, verdict, statement) });
      return this.toServer(deniedParse(name, marker));
    }
    const existed = name !== '' && this.tracker.get(name) !== undefined;
    this.tracker.registerProtocolStatement(name, statement ? [statement] : []);
    this.expect({ kind: 'parse', name, added: !existed });
    this.toServer(raw);
  }

  private onBind(m: Parsed<Bind>): void | Promise<void> {
    let statement: StatementClassification | undefined;
    let verdict: StatementVerdict;
    try {
      statement = this.tracker.resolveName(m.statement);
      // Decided again: the policy may have changed since Parse, and masking obligations are needed now.
      verdict = this.gate.decide(statement);
    } catch (error) {
      if (!(error instanceof SqlClassificationError)) throw error;
      verdict = m.statement === '' && !this.tracker.get('')
        ? { effect: 'allow', policies: [], reasons: [], masking: NO_MASKING } // empty query: nothing to run
        : denied(`${error.message}; denied`);
    }
    // A named portal is a cursor to SQL: `FETCH ALL FROM <portal>` reads the rows of this statement.
    if (m.portal !== '' && statement && verdict.effect !== 'deny' && !this.gate.declareCursor(m.portal, statement)) {
      verdict = denied('too many cursors and portals in one session; denied');
    }
    const types = this.declaredParamTypes.get(m.statement);
    const params = m.params.map((p, i) => this.recording.describeParam(p, m.paramFormats.length === 1 ? m.paramFormats[0] : m.paramFormats[i], types?.[i]));
    const portal: Portal = { verdict, statement, params, fields: undefined, described: false, cursorMark: this.gate.cursorMark };
    if (m.portal === '' || this.portals.size < MAX_PORTALS) this.portals.set(m.portal, portal);
    const call = this.signalStatements.get(m.statement);
    if (call && !this.skipToSync) return this.signalBind(m, portal, call);
    return this.decideBind(m, portal);
  }

  /** The Bind of a prepared `pg_cancel_backend($1)` (Knex): see signalParse for the values it binds. */
  private async signalBind(m: Parsed<Bind>, portal: Portal, call: BackendSignalCall): Promise<void> {
    const pid = boundPid(m);
    if (pid === undefined && m.params[0] !== null) {
      return this.denyBind(m, portal, denied(`${call.fn}: the argument is not a process id; denied`), portal.statement, portal.params);
    }
    const resolution = pid === undefined ? { kind: 'not-gateway-pid' as const } : await resolveSignal(call, pid, this.o.signalBackend);
    if (this.ended) return;
    if (resolution.kind === 'refused') return this.denyBind(m, portal, resolution.verdict, portal.statement, portal.params);
    if (resolution.kind === 'signalled') {
      portal.verdict = resolution.verdict;
      return this.forwardBind(signalBind(m, 'true'), portal);
    }
    // Not a pid the gateway gave (or NULL): the real function runs if policy allows it.
    const raw = signalBind(m, pid === undefined ? null : String(pid));
    return this.decideBind({ ...m, raw }, portal);
  }

  private decideBind(m: Parsed<Bind>, portal: Portal): void | Promise<void> {
    const { verdict, statement, params } = portal;
    if (verdict.effect === 'require_approval' && !this.skipToSync) {
      const fingerprint = statement?.fingerprint ?? '';
      const standing = this.gate.standing([fingerprint]);
      if (standing) return this.forwardBind(m.raw, portal, standing);
      return this.holdBind(m, portal, verdict, statement, params, fingerprint);
    }
    // Also a held statement after an error: the server discards it until Sync anyway.
    if (verdict.effect !== 'allow') return this.denyBind(m, portal, verdict, statement, params);
    this.forwardBind(m.raw, portal);
  }

  private forwardBind(raw: Buffer, portal: Portal, approval?: ApprovalRecord): void {
    if (approval) portal.approval = approval;
    this.expect({ kind: 'bind', portal });
    this.toServer(raw);
  }

  private denyBind(m: Parsed<Bind>, portal: Portal, verdict: StatementVerdict, statement: StatementClassification | undefined, params: string[], approval?: ApprovalRecord): void {
    const marker = newDenialMarker();
    const run = this.newRun(statement?.text ?? `(bind of "${m.statement}")`, verdict, statement);
    run.params = params;
    if (approval) run.approval = approval;
    portal.verdict = verdict;
    this.expect({ kind: 'bind', portal, marker, run });
    this.toServer(deniedBind(m.portal, marker));
  }

  private async holdBind(m: Parsed<Bind>, portal: Portal, verdict: StatementVerdict, statement: StatementClassification | undefined, params: string[], fingerprint: string): Promise<void> {
    const outcome = await this.hold(verdict, {
      text: this.recording.maskText(statement?.text ?? ''),
      params,
      statementKinds: statement ? [statement.kind] : [],
      actions: statement ? [...statement.actions] : [],
      tables: statement ? [...new Set([...statement.tablesRead, ...statement.tablesWritten])].sort() : [],
      fingerprints: [fingerprint],
    }, { text: cutText(statement?.text ?? ''), params: m.params.map((p, i) => describeRawParam(p, m.paramFormats.length === 1 ? m.paramFormats[0] : m.paramFormats[i])) });
    if (this.ended) return;
    if (outcome.status === 'approved') {
      this.gate.remember(outcome, [fingerprint]);
      return this.forwardBind(m.raw, portal, approvalRecord(outcome));
    }
    this.denyBind(m, portal, refusedByApproval(verdict, outcome), statement, params, approvalRecord(outcome));
  }

  private onExecute(name: string, raw: Buffer): void {
    const portal = this.portals.get(name) ?? { verdict: denied('unknown portal'), statement: undefined, params: [], fields: undefined, described: true, cursorMark: 0 };
    if (!portal.described && !this.skipToSync) {
      // Masking needs the result's column types; ask the server and keep its answer to ourselves.
      portal.described = true;
      this.pending.push({ kind: 'describe', target: 'P', portal, internal: true });
      this.toServer(serializeFrontend({ kind: 'Describe', target: 'P', name }));
    }
    const run = this.newRun(portal.statement?.text ?? '', portal.verdict, portal.statement);
    if (portal.statement?.closeCursor) run.cursorClose = { name: portal.statement.closeCursor.name, mark: portal.cursorMark };
    run.params = portal.params;
    if (portal.approval) run.approval = portal.approval;
    this.expect({ kind: 'execute', portal, run });
    this.toServer(raw);
  }

  private onFunctionCall(oid: number, raw: Buffer): void {
    // The fast-path function call runs a function by OID without SQL: procedural code, admin for a built-in.
    const statement = functionCallClassification(oid);
    const verdict = this.gate.decide(statement);
    const run = this.newRun(statement.text, verdict, statement);
    if (verdict.effect !== 'allow') {
      const marker = newDenialMarker();
      // A refused Query gets the same answer shape as a refused FunctionCall: ErrorResponse, ReadyForQuery.
      this.expect({ kind: 'function', marker, run });
      return this.toServer(deniedQuery(marker));
    }
    this.expect({ kind: 'function', run });
    this.toServer(raw);
  }

  // ---------------------------------------------------------------- server -> client

  /** Everything for the client goes through here, in order, behind any record not yet durable. */
  private toClient(bytes: Buffer): void {
    this.toClientInOrder.write(bytes);
  }

  private writeToClient(bytes: Buffer): void {
    hopMark('agent.res.release', this.traceId);
    this.bytesOut += bytes.length;
    if (!this.o.client.write(bytes)) this.fromServer.waitForDrain(this.o.client);
  }

  private onServerMessage(m: Parsed<BackendMessage>): void | Promise<void> {
    const head = this.pending[0];
    switch (m.kind) {
      case 'ParseComplete':
        if (head?.kind === 'parse') this.pending.shift();
        return this.toClient(m.raw);
      case 'BindComplete':
        if (head?.kind === 'bind') this.pending.shift();
        return this.toClient(m.raw);
      case 'CloseComplete':
        if (head?.kind === 'close') {
          this.pending.shift();
          if (head.portal !== undefined && head.cursorMark !== undefined) this.gate.cursorClosed(head.portal, head.cursorMark);
        }
        return this.toClient(m.raw);
      case 'ParameterDescription':
        return this.toClient(m.raw);
      case 'NoData':
        if (head?.kind === 'describe') {
          this.pending.shift();
          if (head.portal) head.portal.fields = [];
          if (head.internal) return;
        }
        return this.toClient(m.raw);
      case 'RowDescription':
        return this.onRowDescription(m.fields, m.raw, head);
      case 'DataRow':
        return this.onDataRow(m.values, m.raw, head);
      case 'CommandComplete':
      case 'EmptyQueryResponse':
      case 'PortalSuspended': {
        const tag = m.kind === 'CommandComplete' ? m.tag : undefined;
        if (head?.kind === 'query') {
          const run = head.runs[head.index];
          if (run) this.finishRun(run, tag);
          if (run?.cursorClose && tag !== undefined) this.gate.cursorClosed(run.cursorClose.name, run.cursorClose.mark);
          if (m.kind === 'CommandComplete' && /^PREPARE/.test(m.tag)) head.prepared.shift();
          head.index += 1;
          head.fields = undefined;
        } else if (head?.kind === 'execute') {
          this.pending.shift();
          this.finishRun(head.run, tag ?? (m.kind === 'PortalSuspended' ? 'SUSPENDED' : undefined));
          if (head.run.cursorClose && tag !== undefined) this.gate.cursorClosed(head.run.cursorClose.name, head.run.cursorClose.mark);
        }
        return this.toClient(m.raw);
      }
      case 'ErrorResponse':
        return this.onError(m.fields, m.raw, head);
      case 'ReadyForQuery':
        if (head?.kind === 'query' || head?.kind === 'sync' || head?.kind === 'function') {
          this.pending.shift();
          if (m.status === 'I' && head.cursorMark !== undefined) this.transactionEnded(head.cursorMark);
          if (head.kind === 'query') for (const run of head.runs) if (!run.done) this.finishRun(run, undefined);
          if (head.kind === 'function' && !head.run.done) this.finishRun(head.run, 'FUNCTION CALL');
        }
        this.copyOutMasking = undefined;
        return this.toClient(m.raw);
      case 'CopyOutResponse':
      case 'CopyBothResponse': {
        const verdict = head?.kind === 'query' ? head.verdict : head?.kind === 'execute' ? head.portal.verdict : undefined;
        this.copyOutMasking = verdict && hasRules(verdict.masking) ? verdict : undefined;
        // COPY rows carry no column names: the columns the statement names tell what bare digits are.
        const statement = head?.kind === 'query' ? head.runs[head.index]?.statement : head?.kind === 'execute' ? head.portal.statement : undefined;
        this.copyOutHints = copyHints(statement?.columnsReferenced ?? []);
        if (this.copyOutMasking && m.kind === 'CopyOutResponse' && m.format === 1) {
          throw new MaskingRefusal('binary COPY output cannot be masked; use text or CSV format');
        }
        return this.toClient(m.raw);
      }
      case 'CopyData': {
        const masked = this.copyOutMasking ? this.masking.copyData(m.data, this.copyOutMasking, this.copyOutHints) : undefined;
        return this.toClient(masked ? serializeBackend({ kind: 'CopyData', data: masked }) : m.raw);
      }
      case 'NotificationResponse': {
        // pg_notify(channel, email) would carry a column value past masking: mask it like a result,
        // also when it arrives while this session is idle (sent by another session).
        const payload = this.masking.notification(m.payload, this.maskingOf(head));
        return this.toClient(payload !== undefined ? serializeBackend({ ...m, payload }) : m.raw);
      }
      case 'NoticeResponse':
        // A trigger's or function's RAISE NOTICE/WARNING can quote any row.
        return this.toClient(this.masking.notice('NoticeResponse', m.fields, m.raw, this.maskingOf(head), undefined, this.readsRuledColumn(head)).raw);
      case 'ParameterStatus': {
        // set_config('application_name', email, false) has the server report the value.
        const value = this.masking.parameterValue(m.value, this.maskingOf(head));
        return this.toClient(value !== undefined ? serializeBackend({ kind: 'ParameterStatus', name: m.name, value }) : m.raw);
      }
      case 'FunctionCallResponse': {
        // libpq's large-object calls (lo_read, psql's \lo_export) read data through the fast path.
        const result = m.result === null ? undefined : this.masking.functionResult(m.result, this.maskingOf(head));
        return this.toClient(result !== undefined ? serializeBackend({ kind: 'FunctionCallResponse', result }) : m.raw);
      }
      case 'CopyInResponse':
      case 'CopyDone':
      case 'BackendKeyData':
      case 'NegotiateProtocolVersion':
        return this.toClient(m.raw);
      case 'AuthenticationOk':
      case 'AuthenticationCleartextPassword':
      case 'AuthenticationMD5Password':
      case 'AuthenticationGSS':
      case 'AuthenticationGSSContinue':
      case 'AuthenticationKerberosV5':
      case 'AuthenticationSSPI':
      case 'AuthenticationSASL':
      case 'AuthenticationSASLContinue':
      case 'AuthenticationSASLFinal':
      case 'EncryptionResponse':
        // Authentication and encryption answers cannot come after login.
        throw new Error(`unexpected ${m.kind} from the database`);
    }
  }

  private onRowDescription(fields: readonly FieldDescription[], raw: Buffer, head: Pending | undefined): void | Promise<void> {
    const verdict = head?.kind === 'query' ? head.verdict : head?.kind === 'describe' ? head.portal?.verdict : undefined;
    const statement = head?.kind === 'query' ? head.runs[head.index]?.statement : head?.kind === 'describe' ? head.portal?.statement : undefined;
    const apply = (mapped: MaskField[]): void => {
      if (head?.kind === 'describe') {
        this.pending.shift();
        if (head.portal) head.portal.fields = mapped;
        if (head.internal) return;
      } else if (head?.kind === 'query') {
        head.fields = mapped;
      }
      this.toClient(raw);
    };
    const described = describeResultFields(fields, verdict, statement, this.o.catalog);
    if (Array.isArray(described)) return apply(described);
    return described.then(apply);
  }

  private onDataRow(values: readonly (Buffer | null)[], raw: Buffer, head: Pending | undefined): void {
    let verdict: StatementVerdict | undefined;
    let fields: MaskField[] | undefined;
    let run: StatementRun | undefined;
    if (head?.kind === 'query') {
      verdict = head.verdict;
      fields = head.fields;
      run = head.runs[head.index];
    } else if (head?.kind === 'execute') {
      verdict = head.portal.verdict;
      fields = head.portal.fields;
      run = head.run;
    }
    let out = raw;
    let shown = values;
    // Rows the agent cannot attribute to a decided statement are masked with the strictest known
    // rules would be guesswork: they cannot happen with a well-behaved server, so they end the session.
    if (!verdict) throw new Error('a result row arrived that belongs to no statement');
    const masked = this.masking.row(values, fields ?? [], verdict);
    if (masked) {
      out = masked;
      shown = parseDataRowValues(masked);
    }
    if (run) this.recording.addRow(run, shown, fields ?? []);
    this.toClient(out);
  }

  private onError(serverFields: NoticeFields, serverRaw: Buffer, head: Pending | undefined): void {
    const { fields, raw } = this.maskError(serverFields, serverRaw, head);
    let out = raw;
    const error = { code: fields.code ?? '', message: fields.message ?? '' };
    if (head?.kind === 'query') {
      if (head.marker) {
        out = rewriteDenial(fields, head.marker, denialMessage(head.verdict)) ?? raw;
      }
      const run = head.runs[head.index];
      if (run) this.finishRun(run, undefined, head.marker && out !== raw ? undefined : error);
      // A PREPARE that did not run did not prepare anything.
      for (const name of head.prepared) this.tracker.closeProtocolStatement(name);
      head.prepared.length = 0;
      for (const r of head.runs) r.done = true;
    } else if (head && head.kind !== 'sync') {
      const marker = 'marker' in head ? head.marker : undefined;
      const run = 'run' in head ? head.run : undefined;
      if (marker && run) out = rewriteDenial(fields, marker, denialMessage(run.verdict)) ?? raw;
      if (run) this.finishRun(run, undefined, marker && out !== raw ? undefined : error);
      if (head.kind === 'parse' && head.added) this.tracker.closeProtocolStatement(head.name);
      if (head.kind !== 'function') {
        // Extended protocol: the server now skips everything up to Sync.
        while (this.pending.length > 0 && this.pending[0]?.kind !== 'sync') {
          const dropped = this.pending.shift();
          if (dropped?.kind === 'parse' && dropped.added) this.tracker.closeProtocolStatement(dropped.name);
        }
        if (this.pending.length === 0) this.skipToSync = true;
      }
    }
    this.toClient(out);
  }

  /** The decision of the statement the server is answering, if any. */
  private verdictOf(head: Pending | undefined): StatementVerdict | undefined {
    if (head?.kind === 'query') return head.verdict;
    if (head?.kind === 'bind' || head?.kind === 'execute') return head.run?.verdict ?? head.portal.verdict;
    return head && 'run' in head ? head.run?.verdict : undefined;
  }

  /**
   * The masking for what the server sends now: that of the statement it is answering or, when there
   * is none (idle, a Parse or Describe, a Sync) or it was denied (a denial carries no masking), the
   * session's (see StatementGate.sessionMasking).
   */
  private maskingOf(head: Pending | undefined): MaskingObligation {
    const verdict = this.verdictOf(head);
    return verdict && verdict.effect !== 'deny' ? verdict.masking : this.gate.sessionMasking();
  }

  /** Masks values the server quotes in an error with the masking of the statement that caused it. */
  private maskError(fields: NoticeFields, raw: Buffer, head: Pending | undefined): { fields: NoticeFields; raw: Buffer } {
    return this.masking.notice('ErrorResponse', fields, raw, this.maskingOf(head), head && 'marker' in head ? head.marker : undefined, this.readsRuledColumn(head));
  }

  /** The statement answered computes values from a masked column (see derivesMaskedValues). */
  private readsRuledColumn(head: Pending | undefined): boolean {
    return derivesMaskedValues(this.verdictOf(head));
  }

  /**
   * Records a finished statement. The release rule: the message that tells the client how the
   * statement ended (CommandComplete, EmptyQueryResponse, PortalSuspended, ErrorResponse, or the
   * ReadyForQuery of a statement without one) and everything after it reach the client only once this
   * record, and every record before it, is fsynced. Rows before it flow at once: a client that saw
   * rows but not the end has not seen the statement succeed. The statement itself went to the
   * database without waiting.
   */
  private finishRun(run: StatementRun, tag: string | undefined, error?: { code: string; message: string }): void {
    // After the end nothing more reaches the client: no reason to hurry the flush.
    const durable = this.recording.finish(run, tag, error, !this.ended);
    if (!durable) return;
    hopMark('agent.res.record', this.traceId);
    this.toClientInOrder.barrier(durable);
  }

  /**
   * The journal could not make a record durable (write or fsync failed): results whose record may be
   * lost never reach the client. It gets FATAL 58030 saying so, and the session ends.
   */
  private recordingFailed(error: unknown): void {
    this.o.log.error({ err: error }, 'recording write failed; results withheld and session closed');
    const message = `the gateway could not write the session recording to disk (${(error as Error)?.message ?? String(error)}); `
      + 'results that were not recorded are withheld and the session is closed; the last statement may have run on the database';
    // Straight to the client: the ordered output is closed for good (nothing held is ever released).
    if (!this.o.client.destroyed && !this.o.client.writableEnded) this.o.client.write(errorResponse({ severity: 'FATAL', code: '58030', message: message.slice(0, 1000) }));
    this.end('recording write failed');
  }

  // ---------------------------------------------------------------- end

  private fail(error: unknown, side: 'client' | 'server'): void {
    if (this.ended) return;
    if (error instanceof MaskingRefusal || error instanceof UnmaskableValueError) {
      this.terminate('0A000', error.message);
      return;
    }
    this.o.log.warn({ err: error, side }, 'postgres session protocol error');
    const message = side === 'client' ? `invalid message from the client: ${(error as Error).message}` : `invalid message from the database: ${(error as Error).message}`;
    this.terminate('08P01', message.slice(0, 500));
  }

  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.lifetime.abort('the session ended');
    this.fromClient.stop();
    this.fromServer.stop();
    for (const entry of this.pending) {
      if ('run' in entry && entry.run) this.finishRun(entry.run, undefined, { code: '08006', message: `session ended: ${reason}` });
      if (entry.kind === 'query') for (const run of entry.runs) this.finishRun(run, undefined, { code: '08006', message: `session ended: ${reason}` });
    }
    this.pending.length = 0;
    this.o.server.destroy();
    // Answers already received (the database's own FATAL, a terminate's) are released once their
    // records are durable; a failed record drops them (fail closed).
    void this.toClientInOrder.drained().then(() => {
      if (!this.o.client.destroyed) this.o.client.end();
    });
    this.o.onEnd(reason, { in: this.bytesIn, out: this.bytesOut });
  }
}

class MaskingRefusal extends Error {}

function isVerdict(value: readonly StatementClassification[] | StatementVerdict): value is StatementVerdict {
  return !Array.isArray(value);
}

/** Values of a DataRow we built ourselves (for the recording sample). */
function parseDataRowValues(frame: Buffer): (Buffer | null)[] {
  const count = frame.readUInt16BE(5);
  const values: (Buffer | null)[] = [];
  let at = 7;
  for (let i = 0; i < count; i++) {
    const len = frame.readInt32BE(at);
    at += 4;
    if (len < 0) values.push(null);
    else {
      values.push(frame.subarray(at, at + len));
      at += len;
    }
  }
  return values;
}

/**
 * A Bind parameter as an approver reads it: unmasked text, or a binary value's bytes in hex (the
 * approval releases exactly these bytes, so the approver sees them, not only their length).
 */
function describeRawParam(value: Buffer | null, format: 0 | 1 | undefined): string {
  if (value === null) return 'NULL';
  if (format === 1) return `<binary ${value.length} bytes: 0x${value.toString('hex')}>`;
  return cutText(value.toString('utf8'));
}
