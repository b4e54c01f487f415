import type { SqlAction, StatementClassification } from '../actions.js';
import { SqlClassificationError } from '../errors.js';
import type { Collector } from './collector.js';
import { literalArgument, regclassName } from './function-arguments.js';
import { BUILT_IN_SCHEMAS, functionRuleFor, UNKNOWN_FUNCTION_ACTION } from './function-rules.js';
import { ADMIN_SETTINGS, searchPathKeepsCatalogFirst, splitSearchPath } from './settings.js';

type Body = Record<string, unknown>;

/** What the tree walker lends the function-call rules. */
export interface FunctionCallContext {
  readonly out: Collector;
  /** False below a plain EXPLAIN: the call is planned, not run. */
  isExecuting(): boolean;
  /** True while the walk is in values the statement stores (see StatementClassification.columnsStored). */
  isStoring(): boolean;
  addAction(action: SqlAction): void;
  /** Classifies SQL text found in a literal argument (nesting is bounded by the classifier). */
  classifyNested(text: string): readonly StatementClassification[];
  /** The setting a set_config() call's column argument is pinned to by its query (see settings-lookup.ts). */
  pinnedSetting(call: Body): string | undefined;
}

const SQL_TEXT_CASTS: ReadonlySet<string> = new Set(['text']);
const REGCLASS_CASTS: ReadonlySet<string> = new Set(['text', 'regclass']);

function dynamic(message: string): SqlClassificationError {
  return new SqlClassificationError('DYNAMIC_SQL', message);
}

/**
 * Applies the reviewed class of a called function (see scripts/function-review.mjs). `parts` is the call's
 * qualified name as the parser gives it: unquoted names lower-cased, quoted ones kept as written.
 */
export function applyFunctionCall(ctx: FunctionCallContext, call: Body, parts: readonly string[]): void {
  const written = parts[parts.length - 1] ?? '';
  const base = written.toLowerCase();
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  const rule = functionRuleFor(base);
  // Another schema's function of the same name is user code, and still gets the built-in's rule: a
  // `public.setval` may be the real one tomorrow (search_path) and is judged like it today. Names are
  // compared as the server does: `"PG_CATALOG".lower(x)` is a schema PG_CATALOG that anyone may create, and
  // `"LOWER"(x)` a function LOWER, neither of them PostgreSQL's own (all of whose names are lower case).
  const userCode = rule === undefined || written !== base || (schema !== undefined && !BUILT_IN_SCHEMAS.has(schema));
  if (userCode) ctx.addAction(UNKNOWN_FUNCTION_ACTION);
  if (rule === undefined) return;
  if (runsTypeCode(base, call)) ctx.addAction(UNKNOWN_FUNCTION_ACTION);
  for (const action of rule.actions) ctx.addAction(action);
  if (rule.notReadOnly && ctx.isExecuting()) ctx.out.writesOutsideTables = true;
  const args = Array.isArray(call['args']) ? (call['args'] as unknown[]) : [];
  if (rule.setting) applySetting(ctx, call, args);
  if (rule.tableReader) applyTableRead(ctx, base, args);
  if (rule.sqlTextArgs !== undefined) applySqlText(ctx, base, call, args, rule.sqlTextArgs);
}

/**
 * Built-ins that convert text into a type the caller names by OID (`array_in('{1}', 'dm'::regtype, -1)`,
 * `pg_input_is_valid('1', 'dm')`): they run that type's input function and, for a domain, its CHECK
 * constraints -- user code when the type is not PostgreSQL's own, which the classifier cannot tell.
 */
const TYPE_INPUT_BY_OID: ReadonlySet<string> = new Set([
  'array_in', 'domain_in', 'record_in', 'range_in', 'multirange_in', 'pg_input_is_valid', 'pg_input_error_info',
]);

/**
 * Built-ins that fill a row of their first argument's type from JSON: each field is converted to its
 * column's type (a domain's CHECK runs). A cast to a type there is judged by the walker
 * (`NULL::pg_catalog.pg_class` is PostgreSQL's own); any other first argument (a table's row `t`, a
 * column, a parameter) has a type the classifier cannot see.
 */
const ROW_POPULATORS: ReadonlySet<string> = new Set([
  'json_populate_record', 'json_populate_recordset', 'jsonb_populate_record', 'jsonb_populate_recordset', 'jsonb_populate_record_valid',
]);

function runsTypeCode(base: string, call: Body): boolean {
  if (TYPE_INPUT_BY_OID.has(base)) return true;
  if (!ROW_POPULATORS.has(base)) return false;
  const first = Array.isArray(call['args']) ? (call['args'] as unknown[])[0] : undefined;
  return !(typeof first === 'object' && first !== null && 'TypeCast' in first);
}

/**
 * The operator names of PostgreSQL 15's own catalogue (pg_operator, from postgres.bki). An operator runs
 * a function: `SELECT a === b`, or `OPERATOR(public.+)`, calls whatever function its creator named.
 */
const BUILT_IN_OPERATORS: ReadonlySet<string> = new Set([
  '!!', '!~', '!~*', '!~~', '!~~*', '##', '#', '#-', '#>', '#>>', '%', '&&', '&', '&<', '&<|', '&>', '*',
  '*<', '*<=', '*<>', '*=', '*>', '*>=', '+', '->', '->>', '-|-', '/', '<', '<->', '<<', '<<=', '<<|', '<=',
  '<>', '<@', '<^', '=', '>', '>=', '>>', '>>=', '>^', '?#', '?&', '?', '?-', '?-|', '?|', '?||', '@',
  '@-@', '@>', '@?', '@@', '@@@', '^', '^@', '|&>', '|', '|/', '|>>', '||', '||/', '~', '~*', '~<=~', '~<~',
  '~=', '~>=~', '~>~', '~~', '~~*', '-',
]);

/**
 * An operator expression: an operator that is not PostgreSQL's own (another name, or qualified with a schema
 * that is not pg_catalog) runs user code, like a call to an unknown function. A same-named operator for
 * other types (`public.=(mytype, mytype)`) is not told apart here, as same-named functions are not.
 */
export function applyOperator(ctx: FunctionCallContext, expr: Body): void {
  // BETWEEN and its variants are keywords (expanded to >= and <=), not operator names.
  if (typeof expr['kind'] === 'string' && expr['kind'].includes('BETWEEN')) return;
  applyOperatorName(ctx, expr['name']);
}

/**
 * An operator named outside an A_Expr: `x === ANY (SELECT ...)` (SubLink.operName) and `ORDER BY x USING ===`
 * (SortBy.useOp, which runs the support functions of the operator's btree family). Absent names (plain
 * `IN (SELECT ...)`, `EXISTS`, `ORDER BY x DESC`) name no operator.
 */
export function applyOperatorList(ctx: FunctionCallContext, name: unknown): void {
  if (name === undefined || (Array.isArray(name) && name.length === 0)) return;
  applyOperatorName(ctx, name);
}

function applyOperatorName(ctx: FunctionCallContext, name: unknown): void {
  const parts = Array.isArray(name) ? (name as unknown[]).map(operatorPart) : [];
  const last = parts[parts.length - 1];
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  if (last === undefined || !BUILT_IN_OPERATORS.has(last) || (schema !== undefined && !BUILT_IN_SCHEMAS.has(schema))) {
    ctx.addAction(UNKNOWN_FUNCTION_ACTION);
  }
}

function operatorPart(part: unknown): string | undefined {
  if (typeof part !== 'object' || part === null) return undefined;
  const str = (part as Body)['String'];
  return typeof str === 'object' && str !== null && typeof (str as Body)['sval'] === 'string' ? ((str as Body)['sval'] as string) : undefined;
}

function applySetting(ctx: FunctionCallContext, call: Body, args: readonly unknown[]): void {
  ctx.out.readsConstantValues = true;
  const setting = (literalArgument(args[0], SQL_TEXT_CASTS) ?? ctx.pinnedSetting(call))?.trim().toLowerCase();
  // A computed setting name could be 'role': fail closed.
  if (setting === undefined || ADMIN_SETTINGS.has(setting)) {
    ctx.addAction('sql:admin');
  } else if (setting === 'search_path') {
    // A path that puts a schema before pg_catalog changes what every later built-in name runs; a computed
    // value could be one.
    const value = literalArgument(args[1], SQL_TEXT_CASTS);
    const schemas = value === undefined ? undefined : splitSearchPath(value);
    ctx.addAction(schemas !== undefined && searchPathKeepsCatalogFirst(schemas) ? 'sql:session' : 'sql:admin');
  } else {
    ctx.addAction('sql:session');
  }
}

function refuseNamedArguments(base: string, args: readonly unknown[]): void {
  for (const arg of args) {
    if (typeof arg === 'object' && arg !== null && 'NamedArgExpr' in arg) {
      throw dynamic(`${base}() with named arguments: write its arguments by position`);
    }
  }
}

/** table_to_xml('t', ...): reads the named table, which must be a literal for the policy to judge it. */
function applyTableRead(ctx: FunctionCallContext, base: string, args: readonly unknown[]): void {
  ctx.out.readsConstantValues = true;
  refuseNamedArguments(base, args);
  const text = literalArgument(args[0], REGCLASS_CASTS);
  if (text === undefined) throw dynamic(`${base}() reads a table whose name is not a literal: refusing`);
  ctx.out.tablesRead.add(regclassName(text));
  // The result holds every column of the table (table_to_xml's XML), under no column name of its own:
  // a whole-row read, like `row_to_json(t)`, for masking.
  ctx.out.columnNames.add('*');
  if (ctx.isStoring()) ctx.out.columnsStored.add('*');
}

/**
 * ts_stat('SELECT ...'), query_to_xml('...', ...), ts_rewrite(q, 'SELECT ...'): the server runs the text as
 * SQL. A literal is classified like a statement and everything it does is added; any other argument (a
 * column, a parameter, a concatenation, another call) could be anything, so the call is refused.
 */
function applySqlText(
  ctx: FunctionCallContext,
  base: string,
  call: Body,
  args: readonly unknown[],
  sqlTextArgs: ReadonlyMap<number, readonly number[]>,
): void {
  ctx.out.readsConstantValues = true;
  refuseNamedArguments(base, args);
  if (call['func_variadic'] === true) throw dynamic(`${base}() with a VARIADIC argument: refusing`);
  const positions = sqlTextArgs.get(args.length);
  if (positions === undefined) return; // only overloads that run no SQL take this many arguments
  for (const position of positions) {
    const text = literalArgument(args[position], SQL_TEXT_CASTS);
    if (text === undefined) throw dynamic(`${base}() runs SQL given as text, and argument ${position + 1} is not a literal: refusing`);
    const nested = ctx.classifyNested(text);
    if (ctx.isExecuting()) {
      for (const statement of nested) {
        ctx.out.absorb(statement);
        // The call's value is made of the columns its SQL reads: stored where the call's value is.
        if (ctx.isStoring()) for (const column of statement.columnsReferenced) ctx.out.columnsStored.add(column);
      }
    } else if (nested.some((s) => s.actions.includes('sql:admin'))) {
      ctx.addAction('sql:admin');
    }
  }
}
