import type { SqlAction, StatementClassification, StatementKind } from '../actions.js';
import type { Collector } from './collector.js';
import { statementRuleFor } from './statement-rules.js';

const READ_ONLY_ACTIONS: ReadonlySet<SqlAction> = new Set(['sql:select', 'sql:session']);

function sorted<T extends string>(values: Iterable<T>): T[] {
  return [...values].sort();
}

function kindOf(type: string, body: Record<string, unknown>, actions: ReadonlySet<SqlAction>): StatementKind {
  switch (type) {
    case 'SelectStmt':
      return body['intoClause'] === undefined ? 'select' : 'ddl';
    case 'CopyStmt':
      return body['is_from'] === true ? 'copy_from' : 'copy_to';
    case 'VariableSetStmt':
      return actions.has('sql:admin') ? 'admin' : 'session';
    default:
      return statementRuleFor(type, body)?.kind ?? 'other';
  }
}

export interface BuildInput {
  readonly type: string;
  readonly body: Record<string, unknown>;
  readonly collector: Collector;
  readonly text: string;
  /** A function is called on the first read of `fingerprint` (most callers never read it). */
  readonly fingerprint: string | (() => string);
  /** For PREPARE: the inner statement's own text and fingerprint. */
  readonly preparedText?: { readonly text: string; readonly fingerprint: string };
}

/** Turns what the walk collected into the (frozen) classification of one top-level statement. */
export function buildClassification({ type, body, collector, text, fingerprint, preparedText }: BuildInput): StatementClassification {
  const actions = new Set(collector.actions);
  let execute: StatementClassification['execute'];
  if (collector.executeName !== undefined) {
    if (type === 'ExecuteStmt') execute = Object.freeze({ name: collector.executeName, argumentActions: Object.freeze(sorted(actions)) });
    // Until a tracker resolves the name, an EXECUTE could run anything: fail closed.
    actions.add('sql:admin');
  }
  if (type === 'SelectStmt') actions.add('sql:select'); // a top-level VALUES list is a read too

  let prepared: StatementClassification['prepared'];
  if (collector.prepareName !== undefined && collector.preparedNode !== undefined) {
    const inner = buildClassification({
      type: collector.preparedNode.type,
      body: collector.preparedNode.body,
      collector: withoutPrepare(collector),
      text: preparedText?.text ?? text,
      fingerprint: preparedText?.fingerprint ?? fingerprint,
    });
    prepared = Object.freeze({ name: collector.prepareName, statement: inner });
    for (const action of inner.actions) actions.add(action);
  }

  const readOnly =
    [...actions].every((action) => READ_ONLY_ACTIONS.has(action)) && !collector.locksRows && !collector.writesOutsideTables;

  const computed = columnsComputed(collector);
  const result: StatementClassification = {
    kind: kindOf(type, body, actions),
    actions: Object.freeze(sorted(actions)),
    tablesRead: Object.freeze(sorted(collector.tablesRead)),
    tablesWritten: Object.freeze(sorted(collector.tablesWritten)),
    functions: Object.freeze(sorted(collector.functions)),
    columnsReferenced: Object.freeze(sorted(columnsReferenced(collector))),
    ...(collector.columnsStored.size > 0 ? { columnsStored: Object.freeze(sorted(columnsStored(collector))) } : {}),
    ...(computed.size > 0 ? { columnsComputed: Object.freeze(sorted(computed)) } : {}),
    ...(collector.typesConverted.size > 0 ? { typesConverted: Object.freeze(sorted(collector.typesConverted)) } : {}),
    readOnly,
    locksRows: collector.locksRows,
    text,
    fingerprint: typeof fingerprint === 'string' ? fingerprint : '',
    ...(prepared ? { prepared } : {}),
    ...(execute ? { execute } : {}),
    ...cursorOf(type, body),
    ...(collector.deallocate ? { deallocate: Object.freeze({ ...collector.deallocate }) } : {}),
    ...(collector.copyFormat && type === 'CopyStmt' ? { copyFormat: collector.copyFormat } : {}),
  };
  if (typeof fingerprint === 'function') lazyFingerprint(result, fingerprint);
  return Object.freeze(result);
}

/** DeclareCursorStmt's option bit for WITH HOLD (PostgreSQL's CURSOR_OPT_HOLD): the cursor outlives its transaction. */
const CURSOR_OPT_HOLD = 0x20;

/**
 * The cursor a DECLARE names (and whether it is WITH HOLD), the one a FETCH / MOVE reads, and the one a
 * CLOSE closes (`null`: CLOSE ALL, and DISCARD ALL, which closes every cursor too). See
 * StatementClassification.cursor and closeCursor.
 */
function cursorOf(type: string, body: Record<string, unknown>): Pick<StatementClassification, 'cursor' | 'closeCursor'> {
  const name = body['portalname'];
  if (type === 'DeclareCursorStmt' && typeof name === 'string') {
    const options = typeof body['options'] === 'number' ? body['options'] : 0;
    return { cursor: Object.freeze({ name, use: 'declare' as const, hold: (options & CURSOR_OPT_HOLD) !== 0 }) };
  }
  // FETCH from an unnamed cursor (portalname '' or absent) is the unnamed portal: still a cursor to resolve.
  if (type === 'FetchStmt') return { cursor: Object.freeze({ name: typeof name === 'string' ? name : '', use: 'fetch' as const }) };
  if (type === 'ClosePortalStmt') return { closeCursor: Object.freeze({ name: typeof name === 'string' ? name : null }) };
  if (type === 'DiscardStmt' && body['target'] === 'DISCARD_ALL') return { closeCursor: Object.freeze({ name: null }) };
  return {};
}

/** Fingerprinting parses the text a second time: only pay for it when someone asks. */
function lazyFingerprint(result: StatementClassification, fingerprint: () => string): void {
  let computed: string | undefined;
  Object.defineProperty(result, 'fingerprint', { enumerable: true, get: () => (computed ??= fingerprint()) });
}

/**
 * The same classification for another text of the same shape (only constants differ). Copies the fields
 * one by one: spreading would read the template's lazy fingerprint.
 */
export function withText(template: StatementClassification, text: string, fingerprint: () => string): StatementClassification {
  const result: StatementClassification = {
    kind: template.kind,
    actions: template.actions,
    tablesRead: template.tablesRead,
    tablesWritten: template.tablesWritten,
    functions: template.functions,
    columnsReferenced: template.columnsReferenced,
    ...(template.columnsStored ? { columnsStored: template.columnsStored } : {}),
    ...(template.columnsComputed ? { columnsComputed: template.columnsComputed } : {}),
    ...(template.typesConverted ? { typesConverted: template.typesConverted } : {}),
    readOnly: template.readOnly,
    locksRows: template.locksRows,
    text,
    fingerprint: '',
  };
  lazyFingerprint(result, fingerprint);
  return Object.freeze(result);
}

/** Column names referenced; a whole-row reference (`SELECT c FROM customers c`) counts as `*`. */
function columnsReferenced(collector: Collector): Set<string> {
  const names = new Set(collector.columnNames);
  for (const bare of collector.bareReferences) if (collector.relationNames.has(bare)) names.add('*');
  return names;
}

/**
 * Columns computed items read (`*` for a star or a whole row); when the statement computes anything, also
 * the plain columns that subqueries, CTEs and derived tables pass on under other names
 * (`SELECT upper(x) FROM (SELECT email AS x ...) s`).
 */
function columnsComputed(collector: Collector): Set<string> {
  const names = new Set(collector.columnsComputed);
  // `replace(row_to_json(c)->>'email', '@', '#')`: a whole row computed from is every column of it.
  for (const bare of collector.computedBareReferences) if (collector.relationNames.has(bare)) names.add('*');
  if (collector.computes) for (const name of collector.columnsPassedOn) names.add(name);
  return names;
}

/** Stored column names; a whole row stored (`INSERT INTO t SELECT c FROM customers c`) counts as `*`. */
function columnsStored(collector: Collector): Set<string> {
  const names = new Set(collector.columnsStored);
  for (const bare of collector.storedBareReferences) if (collector.relationNames.has(bare)) names.add('*');
  return names;
}

function withoutPrepare(collector: Collector): Collector {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(collector) as object) as Collector, collector);
  copy.prepareName = undefined;
  copy.preparedNode = undefined;
  return copy;
}
