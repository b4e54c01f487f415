/** What a walk of a node-sql-parser tree finds: the tables, functions and columns a statement names. */
export interface AstFacts {
  tables: Set<string>;
  functions: Set<string>;
  columns: Set<string>;
  /** A SELECT anywhere in the statement (a subquery, a UNION's last part) takes row locks (FOR UPDATE, FOR SHARE...). */
  locksRows: boolean;
  /** An `INTO OUTFILE` / `INTO DUMPFILE` anywhere in the statement (a UNION puts it on its last part). */
  writesFile: boolean;
  /** A user variable assigned anywhere: `INTO @v`, `SET @v = ...`, `@v := ...`. */
  storesUserVariables?: boolean;
  /** Every name the statement gives a relation, anywhere in it (see bindRelation); collected when present. */
  relations?: Map<string, string | null>;
  /** Sequences a call advances or sets (NEXTVAL(s), SETVAL(s, n), Oracle-mode `s.nextval`); `*` when the argument is not a name. */
  sequencesWritten?: Set<string>;
  /** A named lock taken or released (GET_LOCK...): held by the session past the statement. */
  advisoryLocks?: boolean;
}

/** Built-in functions that write a sequence (MariaDB checks INSERT privilege on it). */
const SEQUENCE_WRITERS: ReadonlySet<string> = new Set(['nextval', 'setval']);
/** Built-in functions that take or release a named lock held by the session. */
const ADVISORY_LOCKS: ReadonlySet<string> = new Set(['get_lock', 'release_lock', 'release_all_locks']);

/**
 * What a call does beyond computing its value: writes a sequence, keeps a value in the session (SETVAL's value is
 * read back with LASTVAL, LAST_INSERT_ID(expr)'s with LAST_INSERT_ID()), or holds a named lock.
 */
function noteCallEffects(name: string, node: Node, facts: AstFacts): void {
  const last = name.slice(name.lastIndexOf('.') + 1);
  const args = isNode(node['args']) && Array.isArray(node['args']['value']) ? (node['args']['value'] as unknown[]) : [];
  if (SEQUENCE_WRITERS.has(last)) {
    const sequence = args[0];
    const column = isNode(sequence) && sequence['type'] === 'column_ref' ? columnName(sequence) : undefined;
    const qualifier = isNode(sequence) ? [sequence['db'], sequence['table']].filter((p): p is string => typeof p === 'string' && p !== '') : [];
    (facts.sequencesWritten ??= new Set()).add(column ? [...qualifier, column].join('.').toLowerCase() : '*');
    if (last === 'setval') facts.storesUserVariables = true;
  }
  if (last === 'last_insert_id' && args.length > 0) facts.storesUserVariables = true;
  if (ADVISORY_LOCKS.has(last)) facts.advisoryLocks = true;
}

/**
 * Records that the statement calls a relation `name`: a table or view `target` (its name without
 * schema), or null for what is not one (a derived table, a CTE). A name bound twice to different things
 * (or to anything unknown) becomes null: the server's name for a result column's source is then ambiguous.
 */
export function bindRelation(relations: Map<string, string | null> | undefined, name: string, target: string | null): void {
  if (!relations || !name) return;
  const key = name.toLowerCase();
  relations.set(key, relations.has(key) && relations.get(key) !== target ? null : target);
}

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;

/** A scalar of the tree as text; anything else (an object where a name was expected) as ''. */
export const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/**
 * A name as the server reads it: the parser keeps a backquoted name's doubled backquote (`` `sec``ret` `` names
 * sec`ret), which a policy naming the table, or the catalogue's name of a function, would not match.
 */
const identifier = (name: string): string => name.replace(/``/g, '`');

/** `db.table` when qualified, bare otherwise; lower-cased (MySQL compares them by the file system, policies by lower case). */
export function tableName(ref: Node): string | undefined {
  if (typeof ref['table'] !== 'string') return undefined;
  const db = typeof ref['db'] === 'string' && ref['db'] ? `${identifier(ref['db'])}.` : '';
  return `${db}${identifier(ref['table'])}`.toLowerCase();
}

function functionName(node: Node): string | undefined {
  const name = node['name'];
  if (typeof name === 'string') return identifier(name).toLowerCase();
  if (isNode(name) && Array.isArray(name['name'])) {
    return (name['name'] as Node[]).map((part) => identifier(str(part['value']))).join('.').toLowerCase();
  }
  return undefined;
}

/** `@name` (not a system variable `@@name`). */
function isUserVariable(node: unknown): boolean {
  return isNode(node) && node['type'] === 'var' && node['prefix'] === '@';
}

function columnName(node: Node): string | undefined {
  const column = node['column'];
  if (typeof column === 'string') return identifier(column).toLowerCase();
  if (isNode(column) && isNode(column['expr'])) return identifier(str(column['expr']['value'])).toLowerCase();
  return undefined;
}

/**
 * Walks every object of the tree (the parser's node shapes vary by statement, so the walk is generic):
 * a `column_ref` is a column, a `function` or `aggr_func` a call, and any other object with a string
 * `table` and a `db` key a table reference. `skip` leaves out a property of the root (a DML target).
 */
export function walkAst(root: unknown, facts: AstFacts, skipRootKeys: ReadonlySet<string> = new Set(), limit = { nodes: 0, max: 200_000 }): void {
  const stack: { node: unknown; root: boolean }[] = [{ node: root, root: true }];
  while (stack.length > 0) {
    const { node, root: isRoot } = stack.pop()!;
    if (Array.isArray(node)) {
      for (const item of node) stack.push({ node: item, root: false });
      continue;
    }
    if (!isNode(node)) continue;
    if (++limit.nodes > limit.max) throw new RangeError('statement tree too large');
    const type = node['type'];
    if (type === 'column_ref') {
      const column = columnName(node);
      if (column !== undefined) facts.columns.add(column);
      // Under sql_mode ORACLE `s.nextval` advances the sequence s (elsewhere it is a column read: the stricter reading).
      if (column === 'nextval' && typeof node['table'] === 'string' && node['table'] !== '') {
        const db = typeof node['db'] === 'string' && node['db'] ? `${node['db']}.` : '';
        (facts.sequencesWritten ??= new Set()).add(`${db}${node['table']}`.toLowerCase());
      }
    } else if (type === 'function' || type === 'aggr_func') {
      const name = functionName(node);
      if (name) {
        facts.functions.add(name);
        noteCallEffects(name, node, facts);
      }
    } else if ('db' in node) {
      const table = tableName(node);
      if (table !== undefined) {
        facts.tables.add(table);
        const bare = table.slice(table.lastIndexOf('.') + 1);
        bindRelation(facts.relations, str(node['as']) || bare, bare);
      }
    } else if (type === 'into' && /^(OUTFILE|DUMPFILE)$/i.test(str(node['keyword']))) {
      facts.writesFile = true;
    } else if ((type === 'into' && str(node['keyword']).toLowerCase() === 'var') || (type === 'assign' && isUserVariable(node['left']))) {
      facts.storesUserVariables = true;
    }
    // A derived table (or a subquery with an alias, which may be a select-list column: ambiguity is the safe side) and CTE names.
    if (isNode(node['expr']) && isNode(node['expr']['ast']) && typeof node['as'] === 'string') bindRelation(facts.relations, node['as'], null);
    if (Array.isArray(node['with'])) for (const cte of node['with'] as unknown[]) if (isNode(cte)) bindRelation(facts.relations, cteName(cte) ?? '', null);
    if (type === 'select' && (isNode(node['locking_read']) || (typeof node['locking_read'] === 'string' && node['locking_read'] !== ''))) facts.locksRows = true;
    for (const [key, value] of Object.entries(node)) {
      if (isRoot && skipRootKeys.has(key)) continue;
      if (isNode(value)) stack.push({ node: value, root: false });
    }
  }
}

function cteName(cte: Node): string | undefined {
  const name = cte['name'];
  const value = isNode(name) ? name['value'] : name;
  return typeof value === 'string' ? value.toLowerCase() : undefined;
}

/** The names a WITH clause defines (they look like tables to the walk). */
export function cteNames(ast: Node): Set<string> {
  const out = new Set<string>();
  const withs = ast['with'];
  if (!Array.isArray(withs)) return out;
  for (const w of withs as Node[]) {
    const name = cteName(w);
    if (name !== undefined) out.add(name);
  }
  return out;
}

/**
 * Walks the bodies of the statement's WITH clause with MySQL's visibility rules: a CTE sees only the CTEs
 * defined before it (all of them under WITH RECURSIVE), so in `WITH users AS (SELECT * FROM users)` or
 * `WITH a AS (SELECT * FROM b), b AS (...)` the body reads the real table. The rest of the statement is
 * walked by the caller, which drops every CTE name from what it found there.
 */
export function walkWithClause(ast: Node, facts: AstFacts, limit: { nodes: number; max: number }): void {
  const withs = Array.isArray(ast['with']) ? (ast['with'] as Node[]) : [];
  const names = withs.map(cteName);
  const recursive = withs.some((w) => w['recursive'] === true);
  withs.forEach((cte, index) => {
    const visible = new Set(recursive ? names : names.slice(0, index));
    const body: AstFacts = { ...facts, tables: new Set() };
    walkAst(cte, body, new Set(['name']), limit);
    for (const table of body.tables) if (!visible.has(table)) facts.tables.add(table);
    facts.locksRows ||= body.locksRows;
    facts.writesFile ||= body.writesFile;
    if (body.storesUserVariables) facts.storesUserVariables = true;
    if (body.advisoryLocks) facts.advisoryLocks = true;
    for (const sequence of body.sequencesWritten ?? []) (facts.sequencesWritten ??= new Set()).add(sequence);
  });
}

/**
 * The DML target list (`table` of insert/update/delete) without its targets: a multi-table UPDATE's list is
 * its whole join, whose subqueries and ON conditions read tables and call functions like any other part.
 */
export function walkTargetList(ast: Node, facts: AstFacts, limit: { nodes: number; max: number }): void {
  const targets = Array.isArray(ast['table']) ? (ast['table'] as unknown[]) : [ast['table']];
  for (const target of targets) {
    if (!isNode(target)) continue;
    const { db: _db, table: _table, ...rest } = target;
    walkAst(rest, facts, new Set(), limit);
  }
}

/** Tables of a DML target list (`table` of insert/update/delete), aliases resolved through `from`. */
export function targetTables(ast: Node): Set<string> {
  const out = new Set<string>();
  const aliases = new Map<string, string>();
  if (Array.isArray(ast['from'])) {
    for (const f of ast['from'] as Node[]) {
      const name = tableName(f);
      if (name && typeof f['as'] === 'string') aliases.set(f['as'].toLowerCase(), name);
    }
  }
  const targets = Array.isArray(ast['table']) ? (ast['table'] as Node[]) : isNode(ast['table']) ? [ast['table']] : [];
  for (const t of targets) {
    const name = tableName(t);
    if (name) out.add(aliases.get(name) ?? name);
  }
  return out;
}

/** Clauses of a SELECT that pick rows rather than make values. */
const ROW_PICKING_KEYS: ReadonlySet<string> = new Set(['where', 'having', 'groupby', 'orderby', 'limit', 'locking_read']);

/**
 * Last names of the columns whose values an INSERT, REPLACE or UPDATE stores: its VALUES (subqueries
 * included) or its SELECT (without the clauses that only pick rows), its SET and ON DUPLICATE KEY
 * UPDATE expressions, and its WITH clause. `*` for a star.
 */
export function storedColumns(ast: Node, limit: { nodes: number; max: number }): Set<string> {
  const facts: AstFacts = { tables: new Set(), functions: new Set(), columns: new Set(), locksRows: false, writesFile: false };
  const values = ast['values'];
  const set = ast['type'] === 'update' && Array.isArray(ast['set']) ? (ast['set'] as unknown[]).filter((item) => !(isNode(item) && rewritesItself(item, ast))) : ast['set'];
  const parts: unknown[] = [set, ast['on_duplicate_update'], ast['with']];
  if (isNode(values) && values['type'] === 'select') {
    parts.push(Object.fromEntries(Object.entries(values).filter(([key]) => !ROW_PICKING_KEYS.has(key))));
  } else {
    parts.push(values);
  }
  for (const part of parts) if (isNode(part) || Array.isArray(part)) walkAst(part, facts, new Set(), limit);
  return facts.columns;
}

/**
 * `UPDATE t SET c = f(c)` on one table: the SET item's value comes only from the column it is written
 * back to (every column reference names `c`, bare or qualified by the table's name or alias; no
 * subquery), so nothing of it is kept anywhere else.
 */
function rewritesItself(item: Node, ast: Node): boolean {
  const targets = Array.isArray(ast['table']) ? (ast['table'] as unknown[]) : [];
  const target = targets.length === 1 && isNode(targets[0]) ? targets[0] : undefined;
  if (!target || isNode(target['join']) || typeof target['join'] === 'string' || typeof item['column'] !== 'string') return false;
  const column = item['column'].toLowerCase();
  const owners = new Set([str(target['table']).toLowerCase(), str(target['as']).toLowerCase()].filter(Boolean));
  if (item['table'] !== null && item['table'] !== undefined && !owners.has(str(item['table']).toLowerCase())) return false;
  let refs = 0;
  const stack: unknown[] = [item['value']];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...(node as unknown[]));
      continue;
    }
    if (!isNode(node)) continue;
    if (node['type'] === 'select' || 'ast' in node) return false;
    if (node['type'] === 'column_ref') {
      const table = node['table'];
      if (columnName(node) !== column || (table !== null && table !== undefined && !owners.has(str(table).toLowerCase()))) return false;
      refs += 1;
      continue;
    }
    for (const value of Object.values(node)) stack.push(value);
  }
  return refs > 0;
}

/** Casts that keep a value whole (without a length: `CAST(email AS CHAR(3))` cuts it) or make it a number. */
const WHOLE_VALUE_CASTS: ReadonlySet<string> = new Set(['CHAR', 'NCHAR', 'VARCHAR', 'BINARY', 'SIGNED', 'UNSIGNED', 'INTEGER', 'INT', 'DECIMAL', 'DOUBLE', 'FLOAT']);
/** Calls that put their arguments' values in the result as they are (one of them, or a container of them). */
const WHOLE_VALUE_CALLS: ReadonlySet<string> = new Set(['min', 'max', 'coalesce', 'ifnull', 'nullif', 'json_array', 'json_arrayagg', 'greatest', 'least']);
/** Node types of constants and placeholders. */
const CONSTANTS: ReadonlySet<string> = new Set(['number', 'single_quote_string', 'double_quote_string', 'string', 'bool', 'null', 'origin', 'param', 'hex_string', 'bit_string', 'full_hex_string', 'natural_string']);

/**
 * Whether a select list item's value may be reshaped from the columns it reads (`UPPER(x)`, `CONCAT(x, '')`,
 * `SUBSTR(x, 1, 3)`): false for a plain column, a constant, a scalar subquery (its own select list decides) and
 * what only carries whole column values (`CAST(x AS CHAR)`, `MIN(x)`, `COALESCE(x, y)`, `JSON_ARRAY(x, y)`):
 * their values keep their shape, so the recognizers still find them.
 */
function computesValue(expr: Node): boolean {
  const type = str(expr['type']);
  if (type === 'column_ref' || CONSTANTS.has(type)) return false;
  // A scalar subquery passes its one value on: its own select list says whether that is computed.
  if (type === 'select' || isNode(expr['ast'])) return false;
  if (type === 'cast') {
    const targets = Array.isArray(expr['target']) ? (expr['target'] as unknown[]) : [];
    const whole = targets.length === 1 && isNode(targets[0]) && targets[0]['length'] === undefined && WHOLE_VALUE_CASTS.has(str(targets[0]['dataType']).toUpperCase());
    return !whole || !isNode(expr['expr']) || computesValue(expr['expr']);
  }
  if ((type === 'aggr_func' || type === 'function') && (expr['over'] === null || expr['over'] === undefined)) {
    const name = functionName(expr);
    if (name === undefined || !WHOLE_VALUE_CALLS.has(name)) return true;
    const args = isNode(expr['args']) ? expr['args'] : {};
    if (type === 'aggr_func') return args['distinct'] !== undefined && args['distinct'] !== null ? true : !isNode(args['expr']) || computesValue(args['expr']);
    const values = Array.isArray(args['value']) ? (args['value'] as unknown[]) : [];
    return values.some((v) => !isNode(v) || computesValue(v));
  }
  return true;
}

/**
 * Last names of the columns that computed select-list (and RETURNING) items read (`UPPER(email)`,
 * `SUBSTR(ssn, 1, 3)`, `REPLACE((SELECT email ...), ...)`; computesValue): the result columns an expression
 * may have reshaped (see StatementClassification.columnsComputed). A plain column item (`email`, `c.email`, a
 * star) is not one, nor is a column only filtered on. When such an item reads a column or a subquery, the
 * plain column items of the statement's derived tables, CTEs and subqueries count too: they pass a column on
 * under another name (`SELECT REPLACE(x, '@', '#') FROM (SELECT email AS x FROM c) d`).
 */
export function computedColumns(ast: Node, limit: { nodes: number; max: number }): Set<string> {
  const computed = new Set<string>();
  const passedOn = new Set<string>();
  let computes = false;
  const visit = (node: unknown, nested: boolean, computing: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, nested, computing);
      return;
    }
    if (!isNode(node)) return;
    if (++limit.nodes > limit.max) throw new RangeError('statement tree too large');
    if (node['type'] === 'column_ref') {
      const column = columnName(node);
      if (computing && column !== undefined && column !== '*') {
        computed.add(column);
        computes = true;
      }
      return;
    }
    // What an UPDATE's SET or an INSERT's VALUES computes is kept in the table (see kept-values in the agent).
    if (node['type'] === 'update' && Array.isArray(node['set'])) {
      for (const item of node['set'] as unknown[]) if (isNode(item) && isNode(item['value']) && computesValue(item['value'])) visit(item['value'], true, true);
    }
    // `SET @v = expr`, `@v := expr`: what a user variable keeps (see kept-values in the agent).
    if (node['type'] === 'assign' && isNode(node['right']) && computesValue(node['right'])) visit(node['right'], true, true);
    if (node['type'] === 'values' && Array.isArray(node['values'])) {
      for (const row of node['values'] as unknown[]) {
        const values = isNode(row) && Array.isArray(row['value']) ? (row['value'] as unknown[]) : [];
        for (const value of values) if (isNode(value) && computesValue(value)) visit(value, true, true);
      }
    }
    const selectList = (node['type'] === 'select' || node['type'] === 'returning') && Array.isArray(node['columns']);
    // A subquery inside a computed item: what its select list passes on is computed from.
    if (selectList && computing) computes = true;
    for (const [key, value] of Object.entries(node)) {
      if (value === null || typeof value !== 'object') continue;
      if (key === 'columns' && selectList) {
        for (const item of value as unknown[]) {
          const expr = isNode(item) ? item['expr'] : undefined;
          if (!isNode(expr)) continue;
          if (expr['type'] === 'column_ref') {
            const column = columnName(expr);
            if (nested && column !== undefined && column !== '*') passedOn.add(column);
          } else {
            visit(expr, true, computesValue(expr));
          }
        }
      } else {
        // A UNION's next part is output like the first; anything else below a select list is nested.
        visit(value, key === '_next' ? nested : selectList || nested, selectList ? false : computing);
      }
    }
  };
  visit(ast, false, false);
  if (computes) for (const column of passedOn) computed.add(column);
  return computed;
}
