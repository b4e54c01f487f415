import { Masker, type MaskingRules } from '@gw/masking';
import {
  CAP, MAX_PACKET_PAYLOAD, encodePacket, MysqlProtocolError, PacketFramer, STATUS, encodeErr, encodeOk, isEof, isErr, isOk, parseColumnCount, parseColumnDefinition, parseCommand, parseExecuteParams,
  MysqlWriter, parseOk, terminatorStatus, type ClientCommand, type ColumnDefinition, type MysqlPacket,
} from '@gw/protocol-mysql';
import { SqlClassificationError, type StatementClassification } from '@gw/sql';
import { bindRelation, type MysqlClassifier, type MysqlStatementClassification } from '@gw/sql-mysql';
import { approvalRecord, refusedByApproval, type ApprovalRecord } from '../postgres/statement-approval.js';
import type { StatementGate } from '../postgres/statement-gate.js';
import { combineVerdicts, denialMessage, denied, derivesMaskedValues, type StatementVerdict } from '../postgres/statement-policy.js';
import { viewNamed } from '../postgres/view-masking.js';
import { cutText, type StatementRecording, type StatementRun } from '../postgres/statement-recording.js';
import { DurableReleaseQueue } from '../../recording/durable-release.js';
import { ResultMasking, type ViewSources } from './result-masking.js';

/** ER_TABLEACCESS_DENIED_ERROR: a statement refused on tables. */
export const ERR_TABLE_DENIED = { code: 1142, sqlState: '42000' } as const;
/** ER_SPECIFIC_ACCESS_DENIED_ERROR: a statement or command refused as administrative or unreadable. */
export const ERR_ACCESS_DENIED = { code: 1227, sqlState: '42000' } as const;
/** Packets from the client kept while a command runs (pipelining) before the client is paused. */
const MAX_QUEUED_COMMANDS = 64;
/** COM_STMT_EXECUTE's statement id for "the one prepared last" (MariaDB). */
const LAST_PREPARED = 0xffff_ffff;
/** COM_STMT_EXECUTE flag: open a read-only cursor (rows then come with COM_STMT_FETCH). */
const CURSOR_TYPE_READ_ONLY = 0x01;
/** ER_UNKNOWN_STMT_HANDLER */
const ERR_UNKNOWN_STATEMENT = { code: 1243, sqlState: 'HY000' } as const;
/** ER_STMT_HAS_NO_OPEN_CURSOR */
const ERR_NO_OPEN_CURSOR = { code: 1421, sqlState: 'HY000' } as const;
/** Server status flag: the session runs with sql_mode NO_BACKSLASH_ESCAPES (strings end differently). */
const STATUS_NO_BACKSLASH_ESCAPES = 0x200;
/** COM_SET_OPTION's options: MYSQL_OPTION_MULTI_STATEMENTS_ON and _OFF. */
const OPTION_MULTI_STATEMENTS_ON = 0;
const OPTION_MULTI_STATEMENTS_OFF = 1;

/** Where the packets of an answer go (the ordered, durability-gated output). */
interface Output {
  push(bytes: Buffer): void;
}

export type KillOutcome = { ok: true } | { ok: false; code: number; message: string };

export interface MysqlSessionCoreOptions {
  /** Bytes for the client; false = the client is slow (the core pauses the database). */
  toClient(bytes: Buffer): boolean;
  toServer(bytes: Buffer): boolean;
  pauseClient(): void;
  resumeClient(): void;
  /** Answers are held until their statement's record is durable: too much held pauses the database. */
  pauseServer(): void;
  resumeServer(): void;
  gate: StatementGate;
  classifier: MysqlClassifier;
  recording: StatementRecording;
  maskingKey: Buffer;
  /** Capabilities both sides speak. */
  capabilities: number;
  sampleRows: number;
  /** `KILL [QUERY] <gateway connection id>`, resolved among the agent's sessions. */
  kill(target: { query: boolean; connectionId: number }): Promise<KillOutcome>;
  /** The session must end (protocol violation from either side). */
  fail(reason: string): void;
}

/** What a prepared statement (COM_STMT_PREPARE) was: its text's classification, re-decided at every execution. */
interface PreparedStatement {
  statement: StatementClassification;
  text: string;
  /** Number of `?` parameters (the PREPARE answer). */
  params: number;
  /** The parameter types of the last execution: an execution may leave them out to reuse them. */
  types?: number[];
  /** Parameters whose value came in COM_STMT_SEND_LONG_DATA since the last execution (not in the EXECUTE packet). */
  longData: Set<number>;
  columns?: ColumnDefinition[];
}

/** The answer a forwarded command is waiting for. */
type Expectation =
  | { kind: 'none' }
  | { kind: 'single'; run?: StatementRun }
  | { kind: 'results'; binary: boolean; run?: StatementRun; verdict: StatementVerdict; statementId?: number; cursor?: 'open' | 'fetch'; columns: readonly string[]; tables: readonly string[]; viewSources?: ViewSources; messages?: boolean }
  | { kind: 'prepare'; text: string; statement: StatementClassification; run: StatementRun }
  /** COM_FIELD_LIST: column definitions (with their defaults) until the terminator; `listed` counts them. */
  | { kind: 'field_list'; run: StatementRun; listed: number };

/** Where a result-set answer is. */
interface ResultState {
  phase: 'first' | 'columns' | 'columns_eof' | 'rows';
  columnsLeft: number;
  defs: ColumnDefinition[];
  rawDefs: Buffer[];
  masking?: ResultMasking;
  masker?: Masker;
}

/**
 * A server-side cursor (COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY): the columns and the masking
 * its execution announced, which every COM_STMT_FETCH's rows get (the client decodes them with those
 * column definitions, masked ones included).
 */
interface OpenCursor {
  defs: ColumnDefinition[];
  masking: ResultMasking;
  masker?: Masker;
}

/** Where a COM_STMT_PREPARE answer is. */
interface PrepareState {
  phase: 'first' | 'params' | 'params_eof' | 'columns' | 'columns_eof';
  left: number;
  columns: number;
  statementId: number;
}

/**
 * One MySQL session between the client and the database, without sockets: client packets are
 * decoded and decided one command at a time (classification, policy, approval hold), answers from
 * the database are followed packet by packet (result sets, prepared statement metadata) so rows can
 * be masked and statements recorded, and the next command waits until the answer has ended.
 */
export class MysqlSessionCore {
  private readonly fromClient = new PacketFramer();
  private readonly fromServer = new PacketFramer();
  private readonly queue: MysqlPacket[] = [];
  private expectation: Expectation | undefined;
  private result: ResultState | undefined;
  private preparing: PrepareState | undefined;
  private readonly prepared = new Map<number, PreparedStatement>();
  private readonly cursors = new Map<number, OpenCursor>();
  /** SQL-level `PREPARE name FROM '...'` statements, for `EXECUTE name`. */
  private readonly sqlPrepared = new Map<string, StatementClassification>();
  private busy = false;
  /** The server's warnings are those of a statement that referenced a ruled column (see warningsQuoting). */
  private warningsOfRuled = false;
  private lastPrepared = -1;
  private ended = false;
  private backslashEscapes = true;
  /**
   * Whether the server runs several statements sent in one text: the login's CLIENT_MULTI_STATEMENTS, then
   * what COM_SET_OPTION last asked for (PHP's mysqli turns it on for each multi_query). Followed as the
   * command is sent: if the server refuses the change, believing it on only lets the server's syntax error
   * through, believing it off only refuses texts the server would have run.
   */
  private multiStatements: boolean;
  private readonly maskers = new WeakMap<MaskingRules, Masker>();

  /** Everything for the client, in order, each answer behind its statement's record (as for Postgres). */
  private readonly released: DurableReleaseQueue;

  constructor(private readonly o: MysqlSessionCoreOptions) {
    this.multiStatements = (o.capabilities & CAP.MULTI_STATEMENTS) !== 0;
    this.released = new DurableReleaseQueue({
      write: (bytes) => void o.toClient(bytes),
      cork: () => undefined,
      uncork: () => undefined,
      pause: () => o.pauseServer(),
      resume: () => o.resumeServer(),
      failed: (error) => o.fail(`the statement recording failed, results are withheld: ${String(error)}`),
    });
  }

  /** Records a finished statement; the client's answer written after this waits for the record. */
  private record(run: StatementRun, tag: string | undefined, error: { code: string; message: string } | undefined): void {
    const durable = this.o.recording.finish(run, tag, error, !this.ended);
    if (durable) this.released.barrier(durable);
  }

  clientBytes(chunk: Buffer): void {
    try {
      for (const p of this.fromClient.push(chunk)) this.queue.push(p);
    } catch (error) {
      return this.o.fail(`malformed packet from the client: ${(error as Error).message}`);
    }
    if (this.queue.length > MAX_QUEUED_COMMANDS) this.o.pauseClient();
    this.pump();
  }

  serverBytes(chunk: Buffer): void {
    let packets: MysqlPacket[];
    try {
      packets = this.fromServer.push(chunk);
    } catch (error) {
      return this.o.fail(`malformed packet from the database: ${(error as Error).message}`);
    }
    // One chunk of the answer leaves as one write (or waits, whole, for the record it ends).
    const out = { push: (bytes: Buffer) => this.released.write(bytes) };
    this.released.beginBatch();
    try {
      for (const p of packets) this.onServerPacket(p, out);
    } catch (error) {
      this.released.endBatch();
      if (error instanceof MysqlProtocolError || error instanceof RangeError) return this.o.fail(`malformed answer from the database: ${error.message}`);
      throw error;
    }
    this.released.endBatch();
    if (!this.busy) this.pump();
  }

  end(): void {
    this.ended = true;
  }

  /** Handles queued client commands until one is in flight. */
  private pump(): void {
    while (!this.busy && !this.ended && this.queue.length > 0) {
      const p = this.queue.shift()!;
      if (this.queue.length === MAX_QUEUED_COMMANDS) this.o.resumeClient();
      this.onCommand(p);
    }
  }

  private onCommand(p: MysqlPacket): void {
    let command: ClientCommand;
    try {
      command = parseCommand(p.payload);
    } catch (error) {
      return this.refuse(p, ERR_ACCESS_DENIED, `malformed command: ${(error as Error).message}`);
    }
    switch (command.kind) {
      case 'query':
        return this.onQuery(p, command.text);
      case 'prepare':
        return this.onPrepare(p, command.text);
      case 'execute':
        return this.onExecute(p, command.statementId, command.flags);
      case 'long_data':
        // No answer; the data only matters if the statement is executed, which is decided then.
      {
        const prepared = this.prepared.get(command.statementId === LAST_PREPARED ? this.lastPrepared : command.statementId);
        if (!prepared) return;
        prepared.longData.add(command.param);
        return this.forward(p, { kind: 'none' });
      }
      case 'close_statement':
        this.prepared.delete(command.statementId);
        this.cursors.delete(command.statementId);
        return this.forward(p, { kind: 'none' });
      case 'reset_statement':
        this.cursors.delete(command.statementId);
        this.prepared.get(command.statementId)?.longData.clear();
        return this.forward(p, { kind: 'single' });
      case 'init_db':
        return this.decideAndForward(p, `USE \`${command.schema.replace(/`/g, '``')}\``, 'single');
      case 'field_list':
        return this.decideAndForward(p, `SHOW COLUMNS FROM \`${command.table.replace(/`/g, '``')}\``, 'field_list');
      case 'kill':
        return this.onKill(p, { query: false, connectionId: command.connectionId });
      case 'set_option':
        if (command.option === OPTION_MULTI_STATEMENTS_ON) this.multiStatements = true;
        if (command.option === OPTION_MULTI_STATEMENTS_OFF) this.multiStatements = false;
        return this.forward(p, { kind: 'single' });
      case 'ping':
      case 'statistics':
        return this.forward(p, { kind: 'single' });
      case 'debug':
        // The server dumps its state to its error log (an administrator's command, `mysqladmin debug`), which no
        // statement policy decides: a session with fixed credentials that hold the privilege would run it unchecked.
        return this.refuse(p, ERR_ACCESS_DENIED, 'COM_DEBUG is not allowed through the gateway');
      case 'reset_connection':
        this.prepared.clear();
        this.sqlPrepared.clear();
        return this.forward(p, { kind: 'single' });
      case 'quit':
        this.o.toServer(rawPacket(p));
        this.ended = true;
        return this.o.fail('client quit');
      case 'bulk_execute':
        return this.refuse(p, ERR_ACCESS_DENIED, 'COM_STMT_BULK_EXECUTE (array binding) is not supported through the gateway; execute the statement once per row');
      case 'fetch':
        return this.onFetch(p, command.statementId, command.rows);
      case 'other':
        return this.refuse(p, ERR_ACCESS_DENIED, `${command.name} is not allowed through the gateway`);
    }
  }

  private classify(text: string): MysqlStatementClassification[] | StatementVerdict {
    try {
      return this.o.classifier.classify(text, { backslashEscapes: this.backslashEscapes });
    } catch (error) {
      if (error instanceof SqlClassificationError) return denied(`could not classify statement: ${error.message}; denied`);
      throw error;
    }
  }

  private onQuery(p: MysqlPacket, text: string): void {
    const classified = this.classify(text);
    if (!Array.isArray(classified)) return this.deny(p, text, classified, []);
    if (!this.multiStatements && classified.length > 1) {
      return this.deny(p, text, denied('several statements in one query need CLIENT_MULTI_STATEMENTS; denied'), classified);
    }
    const kill = classified.find((s) => s.kill);
    if (kill?.kill) {
      if (classified.length > 1) return this.deny(p, text, denied('KILL must be sent alone; denied'), classified);
      return this.onKill(p, kill.kill, text);
    }
    const local = classified.find((s) => s.localInfile);
    if (local) return this.deny(p, text, denied('LOAD DATA LOCAL sends a client file, which the gateway does not relay; denied'), classified);
    // EXECUTE name: decided as the statement it names (fail closed when unknown).
    const resolved: StatementClassification[] = [];
    for (const s of classified) {
      if (s.execute) {
        const target = this.sqlPrepared.get(s.execute.name);
        if (!target) return this.deny(p, text, denied(`EXECUTE of unknown prepared statement "${s.execute.name}"; denied`), classified);
        resolved.push({ ...target, text: s.text, kind: 'execute' });
      } else {
        resolved.push(s);
      }
    }
    const verdict = combineVerdicts(resolved.map((s) => this.o.gate.decide(s)));
    const onAllowed = (approval?: ApprovalRecord): void => {
      for (const s of classified) {
        if (s.prepared) this.sqlPrepared.set(s.prepared.name, s.prepared.statement);
        if (s.deallocate?.name) this.sqlPrepared.delete(s.deallocate.name);
      }
      const run = this.newRun(text, verdict, resolved);
      if (approval) run.approval = approval;
      const messages = this.warningsQuoting(resolved.map((s) => s.text), verdict);
      this.forward(p, { kind: 'results', binary: false, run, verdict, columns: [...new Set(resolved.flatMap((s) => s.columnsReferenced))], tables: this.baseTablesRead(resolved), ...this.viewSourcesOf(resolved), ...(messages ? { messages } : {}) });
    };
    this.afterDecision(p, text, verdict, resolved, onAllowed);
  }

  /** COM_STMT_PREPARE: refused now if policy denies the text; held statements are held at execution. */
  private onPrepare(p: MysqlPacket, text: string): void {
    const classified = this.classify(text);
    if (!Array.isArray(classified)) return this.deny(p, text, classified, []);
    if (classified.length !== 1) return this.deny(p, text, denied('a prepared statement holds exactly one statement; denied'), classified);
    const statement = classified[0]!;
    if (statement.kill || statement.execute || statement.prepared || statement.localInfile) {
      return this.deny(p, text, denied('this statement cannot be prepared through the gateway; denied'), classified);
    }
    const verdict = this.o.gate.decide(statement);
    if (verdict.effect === 'deny') return this.deny(p, text, verdict, classified);
    this.forward(p, { kind: 'prepare', text, statement, run: this.newRun(text, verdict, [statement]) });
  }

  private onExecute(p: MysqlPacket, statementId: number, flags: number): void {
    // MariaDB: id 0xffffffff names the statement prepared last (connectors pipeline PREPARE and EXECUTE).
    const id = statementId === LAST_PREPARED ? this.lastPrepared : statementId;
    const prepared = this.prepared.get(id);
    if (!prepared) return this.refuse(p, ERR_ACCESS_DENIED, `unknown prepared statement ${statementId}`);
    if (flags !== 0 && flags !== CURSOR_TYPE_READ_ONLY) return this.refuse(p, ERR_ACCESS_DENIED, 'only read-only server-side cursors are supported through the gateway');
    // A new execution closes the statement's cursor on the server.
    this.cursors.delete(id);
    const verdict = this.o.gate.decide(prepared.statement);
    // The values this execution binds: an approver approves the statement WITH them, so they are shown.
    let params: string[] | undefined;
    try {
      const read = parseExecuteParams(p.payload, prepared.params, prepared.types, prepared.longData);
      prepared.types = read.types;
      params = read.texts;
    } catch {
      params = undefined;
    }
    prepared.longData.clear();
    if (verdict.effect === 'require_approval' && params === undefined) {
      return this.deny(p, prepared.text, denied('the parameters of this execution cannot be read to show an approver; denied'), [prepared.statement]);
    }
    this.afterDecision(p, prepared.text, verdict, [prepared.statement], (approval) => {
      const run = this.newRun(prepared.text, verdict, [prepared.statement]);
      if (approval) run.approval = approval;
      const messages = this.warningsQuoting([prepared.text], verdict);
      this.forward(p, { kind: 'results', binary: true, run, verdict, statementId: id, columns: prepared.statement.columnsReferenced, tables: this.baseTablesRead([prepared.statement]), ...this.viewSourcesOf([prepared.statement]), ...(messages ? { messages } : {}), ...(flags === CURSOR_TYPE_READ_ONLY ? { cursor: 'open' as const } : {}) });
    }, params);
  }

  /**
   * COM_STMT_FETCH: the next rows of an open cursor, decided again as the prepared text (policy may
   * have changed since the execution), masked with the masking the execution announced, recorded.
   */
  private onFetch(p: MysqlPacket, statementId: number, rows: number): void {
    const prepared = this.prepared.get(statementId);
    if (!prepared) return this.refuse(p, ERR_UNKNOWN_STATEMENT, `Unknown prepared statement handler (${statementId}) given to mysqld_stmt_fetch`);
    const cursor = this.cursors.get(statementId);
    if (!cursor) return this.refuse(p, ERR_NO_OPEN_CURSOR, `The statement (${statementId}) has no open cursor.`);
    const verdict = this.o.gate.decide(prepared.statement);
    this.afterDecision(p, prepared.text, verdict, [prepared.statement], (approval) => {
      const run = this.newRun(prepared.text, verdict, [prepared.statement]);
      run.params = [`fetch ${rows} rows`];
      if (approval) run.approval = approval;
      this.forward(p, { kind: 'results', binary: true, run, verdict, statementId, cursor: 'fetch', columns: prepared.statement.columnsReferenced, tables: this.baseTablesRead([prepared.statement]), ...this.viewSourcesOf([prepared.statement]) });
      this.result = { phase: 'rows', columnsLeft: 0, defs: cursor.defs, rawDefs: [], masking: cursor.masking, ...(cursor.masker ? { masker: cursor.masker } : {}) };
    });
  }

  /** COM_INIT_DB and COM_FIELD_LIST are decided, and recorded, as the statements they amount to. */
  private decideAndForward(p: MysqlPacket, equivalent: string, answer: 'single' | 'field_list'): void {
    const classified = this.classify(equivalent);
    if (!Array.isArray(classified)) return this.deny(p, equivalent, classified, []);
    const verdict = combineVerdicts(classified.map((s) => this.o.gate.decide(s)));
    this.afterDecision(p, equivalent, verdict, classified, (approval) => {
      const run = this.newRun(equivalent, verdict, classified);
      if (approval) run.approval = approval;
      this.forward(p, answer === 'single' ? { kind: 'single', run } : { kind: 'field_list', run, listed: 0 });
    });
  }

  /** Allow: run it; deny: ERR; require approval: hold, then one of the two. */
  private afterDecision(p: MysqlPacket, text: string, verdict: StatementVerdict, statements: StatementClassification[], allowed: (approval?: ApprovalRecord) => void, params?: string[]): void {
    if (verdict.effect === 'allow') return allowed();
    if (verdict.effect === 'deny') return this.deny(p, text, verdict, statements);
    const fingerprints = statements.map((s) => s.fingerprint);
    const standing = this.o.gate.standing(fingerprints);
    if (standing) return allowed(standing);
    this.busy = true;
    const subject = {
      text: this.o.recording.maskText(text),
      statementKinds: [...new Set(statements.map((s) => s.kind))],
      actions: [...new Set(statements.flatMap((s) => s.actions))].sort(),
      tables: [...new Set(statements.flatMap((s) => [...s.tablesRead, ...s.tablesWritten]))].sort(),
      fingerprints,
      // A prepared statement's execution: its bound values, masked like the text (unmasked in the detail).
      ...(params ? { params: params.map((v) => this.o.recording.maskValue(v)) } : {}),
    };
    this.o.gate
      .hold(verdict, subject, { text: cutText(text), ...(params ? { params: params.map(cutText) } : {}) }, () => undefined)
      .then((outcome) => {
        if (this.ended) return;
        this.busy = false;
        if (outcome.status === 'approved') {
          this.o.gate.remember(outcome, fingerprints);
          allowed(approvalRecord(outcome));
        } else {
          this.deny(p, text, refusedByApproval(verdict, outcome), statements, approvalRecord(outcome));
        }
        this.pump();
      })
      .catch((error: unknown) => this.o.fail(`approval wait failed: ${String(error)}`));
  }

  private onKill(p: MysqlPacket, target: { query: boolean; connectionId: number }, text = `KILL ${target.query ? 'QUERY ' : ''}${target.connectionId}`): void {
    this.busy = true;
    const run = this.newRun(text, { effect: 'allow', policies: [], reasons: ['kill of a statement of the same principal'], masking: { entities: [], columns: [] } }, []);
    this.o
      .kill(target)
      .catch((error: unknown): KillOutcome => ({ ok: false, code: 1094, message: `kill failed: ${String(error)}` }))
      .then((outcome) => {
        if (this.ended) return;
        this.busy = false;
        if (outcome.ok) {
          this.record(run, 'KILL', undefined);
          this.released.write(packetOf(encodeOk(), (p.lastSeq + 1) & 0xff));
        } else {
          run.verdict = denied(outcome.message);
          this.record(run, undefined, { code: String(outcome.code), message: outcome.message });
          this.released.write(packetOf(encodeErr({ code: outcome.code, sqlState: 'HY000', message: outcome.message }), (p.lastSeq + 1) & 0xff));
        }
        this.pump();
      })
      .catch((error: unknown) => this.o.fail(`kill failed: ${String(error)}`));
  }

  private deny(p: MysqlPacket, text: string, verdict: StatementVerdict, statements: readonly StatementClassification[], approval?: ApprovalRecord): void {
    const run = this.newRun(text, verdict, [...statements]);
    if (approval) run.approval = approval;
    const tableLevel = statements.length > 0 && statements.every((s) => !s.actions.includes('sql:admin') && s.tablesRead.length + s.tablesWritten.length > 0);
    const err = tableLevel ? ERR_TABLE_DENIED : ERR_ACCESS_DENIED;
    const message = denialMessage(verdict);
    this.record(run, undefined, { code: String(err.code), message });
    this.released.write(packetOf(encodeErr({ ...err, message: message.slice(0, 2000) }), (p.lastSeq + 1) & 0xff));
  }

  private refuse(p: MysqlPacket, err: { code: number; sqlState: string }, message: string): void {
    this.released.write(packetOf(encodeErr({ ...err, message }), (p.lastSeq + 1) & 0xff));
  }

  private newRun(text: string, verdict: StatementVerdict, statements: StatementClassification[]): StatementRun {
    const run = this.o.recording.newRun(text, verdict, statements.length === 1 ? statements[0] : undefined);
    if (statements.length > 1) {
      run.kind = 'multi';
      run.actions = [...new Set(statements.flatMap((s) => s.actions))].sort();
      run.tables = [...new Set(statements.flatMap((s) => [...s.tablesRead, ...s.tablesWritten]))].sort();
    }
    return run;
  }

  private forward(p: MysqlPacket, expectation: Expectation): void {
    this.o.toServer(rawPacket(p));
    if (expectation.kind === 'none') return;
    this.expectation = expectation;
    this.result = expectation.kind === 'results' ? { phase: 'first', columnsLeft: 0, defs: [], rawDefs: [] } : undefined;
    this.preparing = expectation.kind === 'prepare' ? { phase: 'first', left: 0, columns: 0, statementId: 0 } : undefined;
    this.busy = true;
  }

  private done(): void {
    this.expectation = undefined;
    this.result = undefined;
    this.preparing = undefined;
    this.busy = false;
  }

  /** An ERR packet with its message masked by the masking of the statement it answers (the session's, for none). */
  private maskedErr(p: MysqlPacket, e: Expectation): MysqlPacket {
    const verdict = e.kind === 'results' ? e.verdict : e.kind === 'single' || e.kind === 'prepare' || e.kind === 'field_list' ? e.run?.verdict : undefined;
    const masking = verdict?.masking ?? this.o.gate.sessionMasking();
    // A statement that references a ruled column: every value the message quotes is masked.
    const quoted = derivesMaskedValues(verdict);
    if (masking.entities.length === 0 && !quoted) return p;
    const masked = maskErrMessage(p.payload, this.maskerFor(masking), quoted);
    return masked === undefined ? p : { ...p, payload: masked };
  }

  private maskerFor(rules: MaskingRules): Masker {
    let masker = this.maskers.get(rules);
    if (!masker) {
      masker = new Masker(rules, { key: this.o.maskingKey });
      this.maskers.set(rules, masker);
    }
    return masker;
  }

  /**
   * Whether the result of these statements is the server's warnings (SHOW WARNINGS / SHOW ERRORS) for a
   * statement that referenced a ruled column: their messages quote its values (`Truncated incorrect
   * DOUBLE value: '98765.43x'`), masked then like an error's. Any other statement makes the warnings
   * its own from now on.
   */
  private warningsQuoting(texts: readonly string[], verdict: StatementVerdict): boolean {
    if (texts.length > 0 && texts.every((t) => READS_WARNINGS.test(t))) return this.warningsOfRuled;
    this.warningsOfRuled = derivesMaskedValues(verdict);
    return false;
  }

  /**
   * The tables the statements read that are not views: the server names a view as the source of its
   * columns, which says nothing of the table behind it, so result masking takes a view's columns for
   * expressions (masked as derived, the policy having looked behind the view).
   */
  private baseTablesRead(statements: readonly StatementClassification[]): string[] {
    const views = this.o.gate.context.views;
    const tables = new Set(statements.flatMap((s) => s.tablesRead));
    return [...tables].filter((t) => viewNamed(views, t) === undefined);
  }

  /** The names the statements give their relations, with the views, as a results entry's field (see ViewSources). */
  private viewSourcesOf(statements: readonly MysqlStatementClassification[]): { viewSources?: ViewSources } {
    const views = this.o.gate.context.views;
    if (!views || views.size === 0) return {};
    const relations = new Map<string, string | null>();
    for (const s of statements) for (const [name, target] of s.relations ?? []) bindRelation(relations, name, target);
    return relations.size > 0 ? { viewSources: { views, relations } } : {};
  }

  private masker(verdict: StatementVerdict): Masker | undefined {
    const rules = verdict.masking;
    if (rules.entities.length === 0 && rules.columns.length === 0 && verdict.derivedStyle === undefined) return undefined;
    return this.maskerFor(rules);
  }

  private trackStatus(p: Buffer, terminator: boolean): number {
    const status = terminator ? terminatorStatus(p, this.o.capabilities) : parseOk(p, this.o.capabilities).status;
    this.backslashEscapes = (status & STATUS_NO_BACKSLASH_ESCAPES) === 0;
    return status;
  }

  private onServerPacket(packet: MysqlPacket, out: Output): void {
    const e = this.expectation;
    if (!e) throw new MysqlProtocolError('invalid_value', 'the database sent a packet no command asked for');
    // An ERR can quote a row's value (`Duplicate entry 'ada@example.com' for key 'email'`, `Truncated
    // incorrect DOUBLE value: '…'`): masked like the statement's results. No other packet of an answer
    // starts with 0xff (rows, column definitions and OK/EOF never do).
    const p = packet.payload[0] === 0xff ? this.maskedErr(packet, e) : packet;
    switch (e.kind) {
      case 'single':
      case 'field_list':
        return this.onSimpleAnswer(p, e, out);
      case 'prepare':
        return this.onPrepareAnswer(p, e, out);
      case 'results':
        return this.onResults(p, e, out);
      case 'none':
        throw new MysqlProtocolError('invalid_value', 'the database answered a command that has no answer');
    }
  }

  private onSimpleAnswer(p: MysqlPacket, e: Extract<Expectation, { kind: 'single' | 'field_list' }>, out: Output): void {
    const payload = p.payload;
    if (e.kind === 'field_list') return this.onFieldList(p, e, out);
    out.push(rawPacket(p));
    if (isErr(payload)) {
      if (e.run) this.finishRun(e.run, payload);
      return this.done();
    }
    if (isOk(payload)) this.trackStatus(payload, false);
    if (e.run) this.finishRun(e.run, payload);
    this.done();
  }

  /**
   * COM_FIELD_LIST's answer: column definitions, each ending with the column's default value, until
   * the terminator. A default is data like any other (`DEFAULT 'ops@example.com'`): it is masked with
   * the entity rules of the `SHOW COLUMNS` the command was decided as, as that statement's `Default`
   * column would be. The command is recorded like that statement, with the number of columns listed.
   */
  private onFieldList(p: MysqlPacket, e: Extract<Expectation, { kind: 'field_list' }>, out: Output): void {
    const payload = p.payload;
    if (isErr(payload)) {
      out.push(rawPacket(p));
      this.finishRun(e.run, payload);
      return this.done();
    }
    if (isEof(payload) || (this.o.capabilities & CAP.DEPRECATE_EOF && payload[0] === 0xfe && payload.length < MAX_PACKET_PAYLOAD)) {
      out.push(rawPacket(p));
      this.record(e.run, `FIELDS ${e.listed}`, undefined);
      return this.done();
    }
    e.listed += 1;
    const masking = e.run.verdict.masking;
    const masked = masking.entities.length > 0 ? maskColumnDefault(payload, this.maskerFor(masking)) : undefined;
    out.push(masked ? packetOf(masked, p.seq) : rawPacket(p));
  }

  private onPrepareAnswer(p: MysqlPacket, e: Extract<Expectation, { kind: 'prepare' }>, out: Output): void {
    out.push(rawPacket(p));
    const st = this.preparing!;
    const deprecateEof = (this.o.capabilities & CAP.DEPRECATE_EOF) !== 0;
    const payload = p.payload;
    if (st.phase === 'first') {
      if (isErr(payload)) {
        this.finishRun(e.run, payload);
        return this.done();
      }
      if (payload[0] !== 0x00 || payload.length < 12) throw new MysqlProtocolError('invalid_value', 'malformed COM_STMT_PREPARE answer');
      st.statementId = payload.readUInt32LE(1);
      st.columns = payload.readUInt16LE(5);
      const params = payload.readUInt16LE(7);
      this.prepared.set(st.statementId, { statement: e.statement, text: e.text, params, longData: new Set() });
      this.lastPrepared = st.statementId;
      st.phase = 'params';
      st.left = params;
      if (params === 0) this.afterPrepareParams(st, deprecateEof);
    } else if (st.phase === 'params') {
      if (--st.left === 0) {
        if (deprecateEof) this.afterPrepareParams(st, deprecateEof);
        else st.phase = 'params_eof';
      }
    } else if (st.phase === 'params_eof') {
      this.afterPrepareParams(st, deprecateEof);
    } else if (st.phase === 'columns') {
      if (--st.left === 0) {
        if (deprecateEof) st.left = -1;
        else st.phase = 'columns_eof';
      }
    } else {
      st.left = -1;
    }
    if (st.left === -1) {
      e.run.verdict = { ...e.run.verdict };
      this.record(e.run, 'PREPARE', undefined);
      this.done();
    }
  }

  private afterPrepareParams(st: PrepareState, deprecateEof: boolean): void {
    st.phase = 'columns';
    st.left = st.columns;
    if (st.columns === 0) st.left = -1;
    void deprecateEof;
  }

  private onResults(p: MysqlPacket, e: Extract<Expectation, { kind: 'results' }>, out: Output): void {
    const r = this.result!;
    const payload = p.payload;
    const deprecateEof = (this.o.capabilities & CAP.DEPRECATE_EOF) !== 0;
    switch (r.phase) {
      case 'first': {
        if (isErr(payload)) {
          out.push(rawPacket(p));
          if (e.run) this.finishRun(e.run, payload);
          return this.done();
        }
        if (payload[0] === 0x00) {
          out.push(rawPacket(p));
          const status = this.trackStatus(payload, false);
          if (status & STATUS.MORE_RESULTS_EXISTS) return;
          if (e.run) this.finishRun(e.run, payload);
          return this.done();
        }
        if (payload[0] === 0xfb) {
          // A request for a client file: the gateway never offered CLIENT_LOCAL_FILES, so this is a server out of line.
          throw new MysqlProtocolError('invalid_value', 'the database asked for a local file, which the gateway never offered');
        }
        out.push(rawPacket(p));
        r.columnsLeft = parseColumnCount(payload);
        r.defs = [];
        r.rawDefs = [];
        r.phase = 'columns';
        return;
      }
      case 'columns': {
        r.defs.push(parseColumnDefinition(payload));
        r.rawDefs.push(payload);
        if (--r.columnsLeft > 0) return;
        r.masker = this.masker(e.verdict) ?? (e.messages ? this.maskerFor(e.verdict.masking) : undefined);
        r.masking = new ResultMasking(r.defs, r.masker, e.verdict, e.columns, e.tables, e.messages === true, e.viewSources);
        const defs = r.masking.definitionPayloads(r.rawDefs);
        let seq = p.seq - r.defs.length + 1;
        for (const d of defs) out.push(packetOf(d, seq++ & 0xff));
        r.phase = deprecateEof ? 'rows' : 'columns_eof';
        return;
      }
      case 'columns_eof':
        out.push(rawPacket(p));
        if (e.cursor === 'open' && this.cursorOpened(payload, e, r)) return this.done();
        r.phase = 'rows';
        return;
      case 'rows': {
        if (isErr(payload)) {
          out.push(rawPacket(p));
          if (e.run) this.finishRun(e.run, payload);
          return this.done();
        }
        const terminator = deprecateEof ? payload[0] === 0xfe && payload.length < MAX_PACKET_PAYLOAD && payload.length >= 7 : isEof(payload);
        if (terminator) {
          out.push(rawPacket(p));
          if (e.cursor === 'open' && e.run?.rows === 0 && this.cursorOpened(payload, e, r)) return this.done();
          const status = this.trackStatus(payload, true);
          if (status & STATUS.MORE_RESULTS_EXISTS) {
            r.phase = 'first';
            return;
          }
          if (e.cursor === 'fetch' && e.statementId !== undefined && !(status & STATUS.CURSOR_EXISTS)) this.cursors.delete(e.statementId);
          if (e.run) this.record(e.run, `${e.cursor === 'fetch' ? 'FETCH' : 'SELECT'} ${e.run.rows}`, undefined);
          return this.done();
        }
        const row = e.binary ? r.masking!.binaryRow(payload, r.masker, r.defs) : r.masking!.textRow(payload, r.masker);
        out.push(row.payload === payload ? rawPacket(p) : packetOf(row.payload, p.seq));
        if (e.run) {
          e.run.rows += 1;
          if (e.run.sample.length < this.o.sampleRows) e.run.sample.push(row.shown.map((v) => (v === null ? null : v.length > 1024 ? `${v.subarray(0, 1024).toString('utf8')}…` : v.toString('utf8'))));
        }
        return;
      }
    }
  }

  /** The execution's answer ended its metadata with CURSOR_EXISTS: rows come with COM_STMT_FETCH. */
  private cursorOpened(terminator: Buffer, e: Extract<Expectation, { kind: 'results' }>, r: ResultState): boolean {
    const status = this.trackStatus(terminator, true);
    if (!(status & STATUS.CURSOR_EXISTS) || e.statementId === undefined || !r.masking) return false;
    this.cursors.set(e.statementId, { defs: r.defs, masking: r.masking, ...(r.masker ? { masker: r.masker } : {}) });
    if (e.run) this.record(e.run, 'CURSOR OPEN', undefined);
    return true;
  }

  private finishRun(run: StatementRun, payload: Buffer): void {
    if (isErr(payload)) {
      const code = payload.readUInt16LE(1);
      const message = payload.subarray(payload[3] === 0x23 ? 9 : 3).toString('utf8');
      this.record(run, undefined, { code: String(code), message: this.o.recording.maskValue(message) });
      return;
    }
    if (isOk(payload)) {
      const ok = parseOk(payload, this.o.capabilities);
      this.record(run, `OK ${ok.affectedRows}`, undefined);
      return;
    }
    this.record(run, 'OK', undefined);
  }
}

/** Statements whose result is the server's warnings or errors of the statement before. */
const READS_WARNINGS = /^\s*SHOW\s+(?:COUNT\s*\(\s*\*\s*\)\s+)?(?:WARNINGS|ERRORS)\b/i;

/** MariaDB's progress report travels as an ERR packet with this code (CLIENT_PROGRESS): no message to mask. */
const PROGRESS_REPORT = 0xffff;

/**
 * An ERR payload (0xff, code, `#` and SQL state under CLIENT_PROTOCOL_41, message) with entities in its
 * message masked, or undefined when nothing changed.
 */
export function maskErrMessage(payload: Buffer, masker: Masker, quotedValues = false): Buffer | undefined {
  if (payload.length < 3 || payload[0] !== 0xff || payload.readUInt16LE(1) === PROGRESS_REPORT) return undefined;
  const at = payload[3] === 0x23 && payload.length >= 9 ? 9 : 3;
  const message = payload.subarray(at).toString('utf8');
  const masked = masker.maskMessage(message, quotedValues);
  return masked === message ? undefined : Buffer.concat([payload.subarray(0, at), Buffer.from(masked, 'utf8')]);
}

/**
 * A COM_FIELD_LIST column definition with the entities in its default value masked, or undefined when
 * nothing changed. The default is the packet's last field: everything before it is kept byte for byte.
 */
export function maskColumnDefault(payload: Buffer, masker: Masker): Buffer | undefined {
  const value = parseColumnDefinition(payload).defaultValue;
  if (!value) return undefined;
  const text = value.toString('utf8');
  // A stored value, like a column's: not read backwards.
  const masked = masker.maskEntities(text);
  if (masked === text) return undefined;
  const kept = payload.subarray(0, payload.length - lenencSize(value.length) - value.length);
  return Buffer.concat([kept, new MysqlWriter(masked.length + 9).lenencBytes(Buffer.from(masked, 'utf8')).finish()]);
}

/** Bytes of a length-encoded integer's encoding. */
function lenencSize(n: number): number {
  return n < 251 ? 1 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 9;
}

/** The wire bytes of a packet as it came (header rebuilt; split packets split again). */
function rawPacket(p: MysqlPacket): Buffer {
  return packetOf(p.payload, p.seq);
}

function packetOf(payload: Buffer, seq: number): Buffer {
  return encodePacket(payload, seq).bytes;
}
