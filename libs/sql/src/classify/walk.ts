import type { SqlAction, StatementClassification } from '../actions.js';
import { SqlClassificationError } from '../errors.js';
import { INLINE_STRUCT_FIELDS } from '../parser/node-schema.generated.js';
import type { Collector } from './collector.js';
import { isBuiltInType } from './builtin-types.js';
import { applyFunctionCall, applyOperator, applyOperatorList, type FunctionCallContext } from './function-calls.js';
import { INERT_NODES } from './inert-nodes.js';
import { ADMIN_SETTINGS, SAME_READING_VALUES, searchPathKeepsCatalogFirst } from './settings.js';
import { settingPinnedByLookup } from './settings-lookup.js';
import { statementRuleFor } from './statement-rules.js';

type Body = Record<string, unknown>;
type Mode = 'read' | 'write';

export interface WalkLimits {
  /** Maximum nesting of parse-tree nodes (deeply nested expressions are refused, not truncated). */
  readonly maxDepth: number;
  /** Maximum number of parse-tree nodes in one statement. */
  readonly maxNodes: number;
}

/** Classifies the text of a LANGUAGE sql function body (recursion goes back through the cache). */
export type NestedClassifier = (text: string) => readonly StatementClassification[];

/** Clause types (not statements) with fields whose relations are written. */
const CLAUSE_WRITE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  IntoClause: ['rel'],
};

/**
 * SQL/JSON constructs of the parser (PostgreSQL 17) written like function calls. A server before 16/17
 * reads the same text as a call of whatever function of that name the search path finds, a user's
 * `json_scalar(int)` included: they count as calls of that name (user code where one exists).
 */
const CALL_LIKE_SYNTAX: Readonly<Record<string, string>> = {
  JsonScalarExpr: 'json_scalar',
  JsonSerializeExpr: 'json_serialize',
  JsonParseExpr: 'json',
  JsonObjectConstructor: 'json_object',
  JsonArrayConstructor: 'json_array',
  JsonArrayQueryConstructor: 'json_array',
  JsonArrayAgg: 'json_arrayagg',
  JsonObjectAgg: 'json_objectagg',
  MergeSupportFunc: 'merge_action',
};
const JSON_FUNCTION_OPS: Readonly<Record<string, string>> = {
  JSON_QUERY_OP: 'json_query',
  JSON_VALUE_OP: 'json_value',
  JSON_EXISTS_OP: 'json_exists',
  JSON_TABLE_OP: 'json_table',
};

/** Node types through which a write context reaches the RangeVar below them. */
const WRITE_CONTEXT_CARRIERS: ReadonlySet<string> = new Set(['List', 'VacuumRelation']);

const TABLE_LIKE_DROPS: ReadonlySet<string> = new Set([
  'OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE', 'OBJECT_SEQUENCE',
]);

/** Objects that belong to a table and are dropped `ON` it: dropping one changes what that table enforces. */
const OBJECTS_ON_TABLES: ReadonlySet<string> = new Set(['OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE']);

/**
 * Trusted procedural languages: their code cannot reach outside the database. Any other language (`c`,
 * `internal`, `plpython3u`, `plperlu`, but also extensions such as `plsh`, `plr`, `javau`, `plluau` that no
 * list of untrusted names would keep up with) runs with the server's OS privileges: creating or running
 * code in it is admin.
 */
const TRUSTED_LANGUAGES: ReadonlySet<string> = new Set([
  'sql', 'plpgsql', 'plperl', 'pltcl', 'plv8', 'plcoffee', 'plls', 'pllua', 'plrust', 'pljava', 'java',
]);

const MERGE_COMMAND_ACTIONS: Readonly<Record<string, SqlAction | null>> = {
  CMD_INSERT: 'sql:insert',
  CMD_UPDATE: 'sql:update',
  CMD_DELETE: 'sql:delete',
  CMD_NOTHING: null,
};

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function malformed(message: string): SqlClassificationError {
  return new SqlClassificationError('MALFORMED_TREE', message);
}

/** Unwraps `{ TypeName: body }`. */
function unwrap(value: unknown): { type: string; body: Body } {
  if (!isObject(value)) throw malformed('expected a parse-tree node');
  const keys = Object.keys(value);
  const type = keys[0];
  if (keys.length !== 1 || type === undefined) throw malformed('expected a parse-tree node with one type key');
  const body = value[type];
  if (!isObject(body)) throw malformed(`node ${type} has no body`);
  return { type, body };
}

function stringValue(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const str = value['String'];
  if (isObject(str) && typeof str['sval'] === 'string') return str['sval'];
  return undefined;
}

function hasItems(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

function returningExprs(body: Body): boolean {
  const clause = body['returningClause'];
  return isObject(clause) && hasItems(clause['exprs']);
}

function relationName(rangeVar: Body): string {
  const parts = [rangeVar['catalogname'], rangeVar['schemaname'], rangeVar['relname']].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  if (parts.length === 0) throw malformed('relation without a name');
  return parts.join('.');
}

/** Fields whose values a statement stores in the database (see StatementClassification.columnsStored). */
const STORING_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  InsertStmt: new Set(['selectStmt', 'onConflictClause']),
  UpdateStmt: new Set(['targetList']),
  MergeStmt: new Set(['mergeWhenClauses', 'sourceRelation']),
  CreateTableAsStmt: new Set(['query']),
};
/** Clauses of a SELECT that pick rows rather than make values. */
const ROW_PICKING_FIELDS: ReadonlySet<string> = new Set(['whereClause', 'havingClause', 'groupClause', 'sortClause', 'limitOffset', 'limitCount', 'lockingClause']);

/** Whether a statement stores what it computes: the writes above, and SELECT INTO (a new table). */
function storesValues(type: string, body: Body): boolean {
  return STORING_FIELDS[type] !== undefined || (type === 'SelectStmt' && body['intoClause'] !== undefined);
}

/** Whether the values under `field` of a `type` node end up stored, given whether its parent's did. */
function fieldStores(type: string, body: Body, field: string, parentStores: boolean): boolean {
  if (STORING_FIELDS[type]?.has(field)) return true;
  if (type === 'SelectStmt') {
    if (ROW_PICKING_FIELDS.has(field)) return false;
    if (body['intoClause'] !== undefined) return true;
  }
  return parentStores;
}

/** Casts that keep a value whole (no length modifier: `email::varchar(3)` cuts it), or make it a number. */
const WHOLE_VALUE_CASTS: ReadonlySet<string> = new Set(['text', 'varchar', 'bytea', 'int2', 'int4', 'int8', 'numeric', 'float4', 'float8']);
/** Calls that put their arguments' values in the result as they are (a container, one of them). */
const WHOLE_VALUE_CALLS: ReadonlySet<string> = new Set(['array_agg', 'min', 'max', 'to_json', 'to_jsonb', 'row_to_json', 'json_agg', 'jsonb_agg', 'json_build_array', 'jsonb_build_array']);

/**
 * Whether a select list item's value may be reshaped from the columns it reads (`upper(x)`, `x || ''`,
 * `substr(x, 1, 3)`): false for a plain column (`x`, `t.x`, a star), a subquery and for what only
 * carries whole column values: `x::text`, `ARRAY[x, y]`, `(x, y)`, `array_agg(x)`, `min(x)`,
 * `coalesce(x, y)`, constants. Their values keep their shape, so the recognizers still find them.
 */
function computesValue(val: unknown): boolean {
  if (!isObject(val)) return false;
  const { type, body } = unwrap(val);
  // A subquery passes its value on (`(SELECT x ...)`, `ARRAY(SELECT x ...)`): its own select list says whether that is computed.
  switch (type) {
    case 'ColumnRef':
    case 'A_Const':
    case 'ParamRef':
    case 'SubLink':
      return false;
    case 'TypeCast': {
      const typeName = isObject(body['typeName']) ? body['typeName'] : {};
      const names = asArray(typeName['names']).map(stringValue);
      const last = names[names.length - 1];
      return hasItems(typeName['typmods']) || typeName['arrayBounds'] !== undefined || last === undefined || !WHOLE_VALUE_CASTS.has(last) || computesValue(body['arg']);
    }
    case 'A_ArrayExpr':
      return asArray(body['elements']).some(computesValue);
    case 'RowExpr':
    case 'CoalesceExpr':
    case 'MinMaxExpr':
      return asArray(body['args']).some(computesValue);
    case 'FuncCall': {
      const names = asArray(body['funcname']).map(stringValue);
      const last = names[names.length - 1];
      const builtIn = names.length === 1 || (names.length === 2 && names[0] === 'pg_catalog');
      return !builtIn || last === undefined || !WHOLE_VALUE_CALLS.has(last) || body['over'] !== undefined || asArray(body['args']).some(computesValue);
    }
    default:
      return true;
  }
}

/** The names of everything under `node` that could bring in a value other than a plain column's. */
const VALUE_SOURCES: ReadonlySet<string> = new Set(['SubLink', 'SelectStmt', 'MultiAssignRef']);

/**
 * `UPDATE t SET c = f(c)`: the SET item's value comes only from the column it is written back to (its
 * column references all name `c`, bare or qualified by the target's name or alias; no subquery), so
 * nothing of it is kept anywhere else.
 */
function rewritesItself(target: Body, relation: unknown): boolean {
  const column = typeof target['name'] === 'string' ? target['name'].toLowerCase() : undefined;
  if (column === undefined || target['indirection'] !== undefined) return false;
  const owners = new Set<string>();
  if (isObject(relation)) {
    if (typeof relation['relname'] === 'string') owners.add(relation['relname'].toLowerCase());
    const alias = relation['alias'];
    if (isObject(alias) && typeof alias['aliasname'] === 'string') owners.add(alias['aliasname'].toLowerCase());
  }
  let refs = 0;
  const stack: unknown[] = [target['val']];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...(node as unknown[]));
      continue;
    }
    if (!isObject(node)) continue;
    for (const [key, value] of Object.entries(node)) {
      if (VALUE_SOURCES.has(key)) return false;
      if (key === 'ColumnRef' && isObject(value)) {
        const names = asArray(value['fields']).map((f) => stringValue(f)?.toLowerCase());
        const last = names[names.length - 1];
        if (last !== column || names.length > 2 || (names.length === 2 && !owners.has(names[0] ?? ''))) return false;
        refs += 1;
        continue;
      }
      stack.push(value);
    }
  }
  return refs > 0;
}

/**
 * Walks one statement's parse tree generically: every node is visited, every node type must be known
 * (a statement in STATEMENT_RULES or an entry of INERT_NODES), and every statement found anywhere --
 * in a CTE, a subquery, EXPLAIN ANALYZE, COPY (...), a rule or a function body -- adds its actions.
 */
export class TreeWalker {
  private depth = 0;
  private nodeCount = 0;
  /** CTE names visible at the current point, innermost last. */
  private readonly cteScopes: ReadonlySet<string>[] = [];
  /** False below a plain EXPLAIN: the inner statement is planned, not run. */
  private executing = true;
  /** What the function-call rules (function-calls.ts) may touch. */
  private readonly functionCallContext: FunctionCallContext;
  /** True while walking values the statement stores (see fieldStores). */
  private storing = false;
  /** True while walking a target list item that computes its value (see Collector.columnsComputed). */
  private computing = false;
  /** How many select lists enclose the walk: 1 in the statement's own, more in subqueries, CTEs, derived tables. */
  private selectDepth = 0;
  /** SET items of an UPDATE that write a column back from itself (see rewritesItself): they keep nothing elsewhere. */
  private readonly selfRewrites = new WeakSet<Body>();
  /** Depth of FROM-clause functions (`f() AS x(a mytype)`, XMLTABLE): their column definitions convert values. */
  private fromFunctionDepth = 0;
  /** set_config() calls whose name argument a `pg_settings` lookup pins to one setting. */
  private readonly pinnedSettings = new WeakMap<Body, string>();

  constructor(
    private readonly out: Collector,
    private readonly limits: WalkLimits,
    private readonly classifyNested: NestedClassifier,
  ) {
    this.functionCallContext = {
      out,
      isExecuting: () => this.executing,
      isStoring: () => this.storing,
      addAction: (action) => this.addAction(action),
      classifyNested: (text) => this.classifyNested(text),
      pinnedSetting: (call) => this.pinnedSettings.get(call),
    };
  }

  walkStatement(type: string, body: Body): void {
    this.walkNode(type, body, 'read');
  }

  private addAction(action: SqlAction): void {
    // A plain EXPLAIN does not run its statement, but anything administrative in it stays visible, and so
    // does user code: the planner itself runs an IMMUTABLE function whose arguments are constants
    // (`EXPLAIN SELECT f(1)` folds f(1)), and such a function may call anything.
    if (this.executing || action === 'sql:admin' || action === 'sql:procedural') this.out.actions.add(action);
  }

  private walkWrapped(value: unknown, mode: Mode): void {
    // libpg_query writes a NULL list element (e.g. a missing column definition list) as `{}`.
    if (isObject(value) && Object.keys(value).length === 0) return;
    const { type, body } = unwrap(value);
    this.walkNode(type, body, mode);
  }

  private walkNode(type: string, body: Body, mode: Mode): void {
    this.nodeCount += 1;
    if (this.nodeCount > this.limits.maxNodes) {
      throw new SqlClassificationError('LIMIT_EXCEEDED', `statement has more than ${this.limits.maxNodes} parse-tree nodes`);
    }
    if (this.depth >= this.limits.maxDepth) {
      throw new SqlClassificationError('LIMIT_EXCEEDED', `statement nests deeper than ${this.limits.maxDepth} parse-tree levels`);
    }
    this.depth += 1;
    try {
      const rule = statementRuleFor(type, body);
      let skip: ReadonlySet<string> = EMPTY;
      if (rule !== undefined) {
        for (const action of rule.actions) this.addAction(action);
        skip = this.onStatement(type, body);
      } else if (!INERT_NODES.has(type)) {
        throw new SqlClassificationError('UNKNOWN_NODE', `unrecognised parse-tree node ${type}: refusing to classify`);
      } else if (type === 'RangeVar') {
        this.recordRelation(body, mode);
        this.recordColumnAliases(body);
      } else if (type === 'JoinExpr') {
        this.recordJoinAliases(body);
        this.recordColumnAliases(body);
        this.recordUsingColumns(body);
      } else if (type === 'FuncCall') {
        this.recordFunction(body);
      } else if (type === 'ColumnRef') {
        this.recordColumnRef(body);
      } else if (type === 'A_Indirection') {
        this.recordFieldSelections(body);
      } else if (CALL_LIKE_SYNTAX[type] !== undefined) {
        this.out.functions.add(CALL_LIKE_SYNTAX[type]);
      } else if (type === 'JsonFuncExpr') {
        this.out.functions.add(JSON_FUNCTION_OPS[String(body['op'])] ?? 'json_query');
      } else if (type === 'A_Expr') {
        applyOperator(this.functionCallContext, body);
      } else if (type === 'SubLink') {
        applyOperatorList(this.functionCallContext, body['operName']);
      } else if (type === 'SortBy') {
        applyOperatorList(this.functionCallContext, body['useOp']);
      }
      const writeFields = rule?.writeFields ?? CLAUSE_WRITE_FIELDS[type] ?? [];
      const inherited: Mode = WRITE_CONTEXT_CARRIERS.has(type) ? mode : 'read';
      const outerStoring = this.storing;
      const outerComputing = this.computing;
      const outerSelectDepth = this.selectDepth;
      // A select list of its own (not a UNION's parent): what it computes is judged item by item.
      if (type === 'SelectStmt' && body['targetList'] !== undefined) {
        // A subquery in a computed item: what its select list passes on is computed from.
        if (this.computing) this.out.computes = true;
        this.selectDepth += 1;
        this.computing = false;
      }
      if (type === 'ResTarget') this.recordTarget(body['val']);
      const parentStores = this.selfRewrites.has(body) ? false : outerStoring;
      // A writing statement's CTEs may feed what it stores (`WITH x AS (SELECT ssn ...) INSERT ... SELECT * FROM x`).
      if (storesValues(type, body)) this.storing = true;
      const ctes = this.openWithScope(body);
      this.storing = parentStores;
      try {
        for (const [field, value] of Object.entries(body)) {
          if (skip.has(field) || field === 'withClause') continue;
          this.storing = fieldStores(type, body, field, parentStores);
          this.walkField(type, field, value, writeFields.includes(field) ? 'write' : inherited);
        }
      } finally {
        this.storing = outerStoring;
        this.computing = outerComputing;
        this.selectDepth = outerSelectDepth;
        if (ctes) this.cteScopes.pop();
      }
    } finally {
      this.depth -= 1;
    }
  }

  private walkField(parentType: string, field: string, value: unknown, mode: Mode): void {
    if (value === null || typeof value !== 'object') return; // scalars: names, flags, locations, enums
    if (field === 'typeName' && (VALUE_TYPE_PARENTS.has(parentType) || (parentType === 'ColumnDef' && this.fromFunctionDepth > 0))) {
      this.checkValueType(value);
    }
    if (parentType === 'RangeFunction' || parentType === 'RangeTableFunc') {
      this.fromFunctionDepth += 1;
      try {
        this.walkItems(parentType, field, value, mode);
      } finally {
        this.fromFunctionDepth -= 1;
      }
      return;
    }
    this.walkItems(parentType, field, value, mode);
  }

  /**
   * A value converted to a type runs that type's code: a cast's function (`CREATE CAST ... WITH FUNCTION`),
   * a domain's CHECK constraints, a type's input function. PostgreSQL's own types run PostgreSQL's own code;
   * any other type name (another schema, a quoted upper-case name, a `%TYPE`) is reported in
   * `typesConverted`, for the caller who knows the database to tell user code (a domain's CHECK) from none
   * (an enum). (A cast from a user type to a built-in one is not seen here, as same-named operators for user
   * types are not.)
   */
  private checkValueType(value: unknown): void {
    const typeName = isObject(value) && isObject(value['TypeName']) ? value['TypeName'] : value;
    const names = isObject(typeName) ? asArray(typeName['names']).map(stringValue) : [];
    const known = names.filter((n): n is string => n !== undefined);
    const readable = isObject(typeName) && typeName['pct_type'] !== true && known.length > 0 && known.length === names.length;
    if (readable && isBuiltInType(known)) return;
    this.out.typesConverted.add(readable ? known.join('.') : '?');
  }

  private walkItems(parentType: string, field: string, value: unknown, mode: Mode): void {
    const inline = INLINE_STRUCT_FIELDS[parentType]?.[field];
    const inlineType = inline?.endsWith('[]') ? inline.slice(0, -2) : inline;
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (item === null || typeof item !== 'object') continue;
      if (inlineType !== undefined) {
        if (!isObject(item)) throw malformed(`${parentType}.${field} is not a ${inlineType}`);
        this.walkNode(inlineType, item, mode);
      } else {
        this.walkWrapped(item, mode);
      }
    }
  }

  /**
   * Walks a WITH clause with Postgres' visibility rules -- a non-recursive CTE sees only the CTEs
   * before it, a recursive one sees all -- and returns true when it pushed the scope that the rest of
   * the statement sees. Getting this right matters: `WITH users AS (SELECT * FROM users) ...` reads
   * the real table `users` inside the CTE.
   */
  private openWithScope(body: Body): boolean {
    const withClause = body['withClause'];
    if (withClause === undefined) return false;
    if (!isObject(withClause)) throw malformed('WITH clause is not an object');
    const ctes = asArray(withClause['ctes']).map((cte) => {
      const { type, body: cteBody } = unwrap(cte);
      if (type !== 'CommonTableExpr' || typeof cteBody['ctename'] !== 'string') throw malformed('WITH item is not a CTE');
      return { name: cteBody['ctename'], body: cteBody };
    });
    const recursive = withClause['recursive'] === true;
    const all = new Set(ctes.map((c) => c.name));
    ctes.forEach((cte, index) => {
      this.cteScopes.push(recursive ? all : new Set(ctes.slice(0, index).map((c) => c.name)));
      try {
        this.walkNode('CommonTableExpr', cte.body, 'read');
      } finally {
        this.cteScopes.pop();
      }
    });
    for (const [field, value] of Object.entries(withClause)) {
      if (field !== 'ctes') this.walkField('WithClause', field, value, 'read');
    }
    this.cteScopes.push(all);
    return true;
  }

  private isCteReference(rangeVar: Body): boolean {
    if (rangeVar['schemaname'] !== undefined || rangeVar['catalogname'] !== undefined) return false;
    const name = rangeVar['relname'];
    return typeof name === 'string' && this.cteScopes.some((scope) => scope.has(name));
  }

  private recordRelation(rangeVar: Body, mode: Mode): void {
    const relname = rangeVar['relname'];
    if (typeof relname === 'string') this.out.relationNames.add(relname.toLowerCase());
    const alias = rangeVar['alias'];
    if (isObject(alias) && typeof alias['aliasname'] === 'string') this.out.relationNames.add(alias['aliasname'].toLowerCase());
    // Targets of INSERT/UPDATE/DELETE/MERGE are never CTE names in Postgres, so only reads can be.
    if (mode === 'write') {
      this.out.tablesWritten.add(relationName(rangeVar));
      // pg_settings' rule turns an UPDATE of its rows into set_config() of the settings they name:
      // `UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'` makes the
      // server read later text differently from the classifier. Which settings change is a matter of
      // rows, not of the text: administrative, as a set_config() of a setting it cannot name.
      if (typeof relname === 'string' && relname.toLowerCase() === 'pg_settings') {
        this.out.functions.add('set_config');
        this.addAction('sql:admin');
      }
    } else if (!this.isCteReference(rangeVar)) {
      this.out.tablesRead.add(relationName(rangeVar));
    }
  }

  /**
   * `customers AS t(a, b)`, `(x JOIN y ON ...) AS j(a, b)`: a column alias list renames a table's columns
   * by position, so `b` may be `name` and no reference names the column it reads. Every column of
   * the relation may be read under another name: counted as a star (read, and stored when the
   * values are stored).
   */
  private recordColumnAliases(relation: Body): void {
    const alias = relation['alias'];
    if (!isObject(alias) || !hasItems(alias['colnames'])) return;
    this.out.columnNames.add('*');
    if (this.storing) this.out.columnsStored.add('*');
  }

  /**
   * `(customers c JOIN orders o ON ...) AS j`: `j` alone is a whole row of every column of the join,
   * which no column reference names; like a table's name or alias, it counts as a relation name.
   */
  private recordJoinAliases(join: Body): void {
    for (const field of ['alias', 'join_using_alias']) {
      const alias = join[field];
      if (isObject(alias) && typeof alias['aliasname'] === 'string') this.out.relationNames.add(alias['aliasname'].toLowerCase());
    }
  }

  /**
   * `a JOIN b USING (name)`: the USING list names columns as plain strings, not column references, yet
   * the join's merged column is their value (`FULL JOIN` computes it), and `USING (name) AS u` makes a
   * row of them that the select list reads as `u`: the names count as columns referenced.
   */
  private recordUsingColumns(join: Body): void {
    for (const item of asArray(join['usingClause'])) {
      const name = stringValue(item)?.toLowerCase();
      if (name === undefined) continue;
      this.out.columnNames.add(name);
      if (this.storing) this.out.columnsStored.add(name);
    }
  }

  /**
   * A target list item: one that computes its value makes the walk below it `computing`; a plain column
   * in a nested select list passes that column on under its output name (see Collector.columnsPassedOn).
   */
  private recordTarget(val: unknown): void {
    if (computesValue(val)) {
      this.computing = true;
      return;
    }
    if (this.selectDepth < 2 || !isObject(val) || !isObject(val['ColumnRef'])) return;
    const fields = asArray(val['ColumnRef']['fields']);
    const name = stringValue(fields[fields.length - 1])?.toLowerCase();
    if (name !== undefined) this.out.columnsPassedOn.add(name);
  }

  private recordColumnRef(ref: Body): void {
    const fields = asArray(ref['fields']);
    const last = fields[fields.length - 1];
    if (isObject(last) && 'A_Star' in last) {
      this.out.columnNames.add('*');
      if (this.storing) this.out.columnsStored.add('*');
      if (this.computing) {
        this.out.columnsComputed.add('*');
        this.out.computes = true;
      }
      return;
    }
    const name = stringValue(last)?.toLowerCase();
    if (name === undefined) return;
    this.out.columnNames.add(name);
    if (this.computing) {
      this.out.columnsComputed.add(name);
      if (fields.length === 1) this.out.computedBareReferences.add(name);
      this.out.computes = true;
    }
    if (fields.length === 1) this.out.bareReferences.add(name);
    if (fields.length >= 2 && ROW_ARGUMENT_FUNCTIONS.has(name)) this.recordAttributeCall(name);
    if (this.storing) {
      this.out.columnsStored.add(name);
      if (fields.length === 1) this.out.storedBareReferences.add(name);
    }
  }

  /**
   * `(c).name`: a field of a composite value, or a function called on it in attribute notation. The names
   * count as columns referenced (the agent also knows which name is a user function taking a row).
   */
  private recordFieldSelections(indirection: Body): void {
    for (const item of asArray(indirection['indirection'])) {
      const name = stringValue(item)?.toLowerCase();
      if (name === undefined) continue;
      this.out.columnNames.add(name);
      if (this.computing) this.out.columnsComputed.add(name);
      if (this.storing) this.out.columnsStored.add(name);
      if (ROW_ARGUMENT_FUNCTIONS.has(name)) this.recordAttributeCall(name);
    }
  }

  /**
   * `c.to_json` is `to_json(c)` when `c` has no column of that name: PostgreSQL calls a function of one
   * row argument in attribute notation. It reads the whole row, whatever the text names.
   */
  private recordAttributeCall(name: string): void {
    this.out.functions.add(name);
    this.out.columnNames.add('*');
    if (this.storing) this.out.columnsStored.add('*');
  }

  private recordFunction(call: Body): void {
    const parts = asArray(call['funcname']).map(stringValue);
    if (parts.length === 0 || parts.some((p) => p === undefined)) throw malformed('function call without a name');
    this.out.functions.add((parts as string[]).map((p) => p.toLowerCase()).join('.'));
    applyFunctionCall(this.functionCallContext, call, parts as string[]);
  }

  /** Statement-specific refinements. Returns fields it walked itself (the generic walk skips them). */
  private onStatement(type: string, body: Body): ReadonlySet<string> {
    switch (type) {
      case 'SelectStmt':
        return this.onSelect(body);
      case 'InsertStmt':
        if (isObject(body['onConflictClause']) && body['onConflictClause']['action'] === 'ONCONFLICT_UPDATE') {
          this.addAction('sql:update');
        }
        this.onReturning(body);
        return EMPTY;
      case 'UpdateStmt':
        if (hasItems(body['fromClause'])) this.addAction('sql:select');
        this.onReturning(body);
        for (const item of asArray(body['targetList'])) {
          const target = isObject(item) && isObject(item['ResTarget']) ? item['ResTarget'] : undefined;
          if (target && rewritesItself(target, body['relation'])) this.selfRewrites.add(target);
        }
        return EMPTY;
      case 'DeleteStmt':
        if (hasItems(body['usingClause'])) this.addAction('sql:select');
        this.onReturning(body);
        return EMPTY;
      case 'MergeStmt':
        return this.onMerge(body);
      case 'CopyStmt':
        return this.onCopy(body);
      case 'ExplainStmt':
        return this.onExplain(body);
      case 'VariableSetStmt':
        return this.onVariableSet(body);
      case 'CreateFunctionStmt':
        return this.onCreateFunction(body);
      case 'DoStmt':
        // DO without LANGUAGE runs plpgsql.
        if (!TRUSTED_LANGUAGES.has(this.languageOf(body['args']) ?? 'plpgsql')) this.addAction('sql:admin');
        return EMPTY;
      case 'PrepareStmt':
        return this.onPrepare(body);
      case 'ExecuteStmt':
        if (typeof body['name'] !== 'string') throw malformed('EXECUTE without a name');
        this.out.executeName = body['name'];
        return EMPTY;
      case 'DeallocateStmt':
        this.out.deallocate = { name: body['isall'] === true ? null : typeof body['name'] === 'string' ? body['name'] : null };
        return EMPTY;
      case 'DiscardStmt':
        if (body['target'] === 'DISCARD_ALL') this.out.deallocate = { name: null };
        return EMPTY;
      case 'DropStmt':
        this.onDrop(body);
        return EMPTY;
      case 'CreateTrigStmt':
        // The trigger runs its function on every matching write, whoever writes: the statement wires that
        // code in, so the function counts as called (user code is sql:procedural).
        this.recordFunction({ funcname: body['funcname'] });
        return EMPTY;
      case 'AlterSystemStmt':
      case 'AlterRoleSetStmt':
      case 'AlterDatabaseSetStmt':
        // The SET inside changes stored defaults, not this session: the statement is admin already.
        return SETSTMT_FIELD;
      default:
        return EMPTY;
    }
  }

  private onSelect(body: Body): ReadonlySet<string> {
    const pureValues = hasItems(body['valuesLists']) && !hasItems(body['targetList']) && !hasItems(body['fromClause']);
    // INSERT ... VALUES is parsed as a VALUES SelectStmt: it reads nothing. Everything else reads.
    if (!pureValues) this.addAction('sql:select');
    if (body['intoClause'] !== undefined) this.addAction('sql:ddl'); // SELECT INTO creates a table
    if (hasItems(body['lockingClause']) && this.executing) this.out.locksRows = true;
    const pinned = settingPinnedByLookup(body);
    if (pinned) this.pinnedSettings.set(pinned.call, pinned.setting);
    return EMPTY;
  }

  /** RETURNING hands the target's rows back to the client: Postgres requires SELECT on them, and so do we. */
  private onReturning(body: Body): void {
    if (!returningExprs(body)) return;
    this.addAction('sql:select');
    const relation = body['relation'];
    if (isObject(relation)) this.out.tablesRead.add(relationName(relation));
  }

  private onMerge(body: Body): ReadonlySet<string> {
    for (const clause of asArray(body['mergeWhenClauses'])) {
      const { type, body: when } = unwrap(clause);
      if (type !== 'MergeWhenClause') throw malformed('MERGE WHEN item is not a MergeWhenClause');
      const command = when['commandType'];
      if (typeof command !== 'string' || !(command in MERGE_COMMAND_ACTIONS)) {
        throw new SqlClassificationError('UNKNOWN_NODE', `unrecognised MERGE action ${String(command)}`);
      }
      const action = MERGE_COMMAND_ACTIONS[command];
      if (action) this.addAction(action);
    }
    // MERGE joins the target to the source: it reads the target too.
    const relation = body['relation'];
    if (isObject(relation)) this.out.tablesRead.add(relationName(relation));
    this.onReturning(body);
    return EMPTY;
  }

  private onCopy(body: Body): ReadonlySet<string> {
    const from = body['is_from'] === true;
    if (!from) this.out.copyFormat = copyFormatOf(body['options']);
    // COPY to/from a server file or program reads/writes the server's file system as its OS user.
    if (body['is_program'] === true || typeof body['filename'] === 'string') this.addAction('sql:admin');
    const relation = body['relation'];
    if (isObject(relation)) {
      this.addAction(from ? 'sql:insert' : 'sql:select');
      this.walkNode('RangeVar', relation, from ? 'write' : 'read');
    } else if (body['query'] !== undefined) {
      this.addAction('sql:select');
    } else {
      throw malformed('COPY without a table or a query');
    }
    return RELATION_FIELD;
  }

  private onExplain(body: Body): ReadonlySet<string> {
    this.out.readsConstantValues = true; // EXPLAIN (ANALYZE false)
    const analyze = asArray(body['options']).some((option) => {
      const { type, body: def } = unwrap(option);
      return type === 'DefElem' && def['defname'] === 'analyze' && !isFalseOption(def['arg']);
    });
    this.addAction('sql:select');
    const previous = this.executing;
    // EXPLAIN ANALYZE runs the statement: it needs everything the statement needs.
    this.executing = previous && analyze;
    try {
      this.walkWrapped(body['query'], 'read');
    } finally {
      this.executing = previous;
    }
    return QUERY_FIELD;
  }

  private onVariableSet(body: Body): ReadonlySet<string> {
    const name = typeof body['name'] === 'string' ? body['name'].toLowerCase() : undefined;
    const kind = body['kind'];
    if (kind === 'VAR_RESET_ALL') {
      this.addAction('sql:session');
    } else if (name === undefined) {
      throw malformed('SET without a setting name');
    } else if (name === 'search_path' && kind === 'VAR_SET_VALUE') {
      // A path that puts a schema before pg_catalog changes what every later built-in name runs.
      const schemas = searchPathOf(body);
      this.addAction(schemas !== undefined && searchPathKeepsCatalogFirst(schemas) ? 'sql:session' : 'sql:admin');
    } else {
      this.addAction(ADMIN_SETTINGS.has(name) && !keepsReading(name, body) ? 'sql:admin' : 'sql:session');
    }
    return EMPTY;
  }

  private languageOf(options: unknown): string | undefined {
    for (const option of asArray(options)) {
      const { type, body } = unwrap(option);
      if (type === 'DefElem' && body['defname'] === 'language') return stringValue(body['arg'])?.toLowerCase();
    }
    return undefined;
  }

  private onCreateFunction(body: Body): ReadonlySet<string> {
    this.out.readsConstantValues = true; // the body is a string constant
    const language = this.languageOf(body['options']);
    // Without LANGUAGE, only a `RETURN expr` / BEGIN ATOMIC body (SQL) is accepted by the server.
    if (language !== undefined && !TRUSTED_LANGUAGES.has(language)) this.addAction('sql:admin');
    if (language !== 'sql' || body['sql_body'] !== undefined) return EMPTY; // BEGIN ATOMIC bodies are walked as nodes
    for (const option of asArray(body['options'])) {
      const { body: def } = unwrap(option);
      if (def['defname'] !== 'as') continue;
      const list = isObject(def['arg']) ? def['arg']['List'] : undefined;
      const source = isObject(list) ? stringValue(asArray(list['items'])[0]) : stringValue(def['arg']);
      if (source === undefined) throw malformed('LANGUAGE sql function without a body text');
      // The body runs whenever the function is called: report what it does.
      if (this.executing) for (const nested of this.classifyNested(source)) this.out.absorb(nested);
    }
    return EMPTY;
  }

  private onPrepare(body: Body): ReadonlySet<string> {
    if (typeof body['name'] !== 'string') throw malformed('PREPARE without a name');
    const { type, body: inner } = unwrap(body['query']);
    this.out.prepareName = body['name'];
    this.out.preparedNode = { type, body: inner };
    return EMPTY; // the query is walked generically: PREPARE needs what its statement needs
  }

  private onDrop(body: Body): void {
    const removeType = body['removeType'];
    if (typeof removeType !== 'string') return;
    // `DROP TRIGGER audit ON secret`, `DROP POLICY p ON secret`: the object's name follows its table's.
    const onTable = OBJECTS_ON_TABLES.has(removeType);
    if (!TABLE_LIKE_DROPS.has(removeType) && !onTable) return;
    for (const object of asArray(body['objects'])) {
      const { type, body: list } = unwrap(object);
      if (type !== 'List') continue;
      const parts = asArray(list['items']).map(stringValue);
      const table = onTable ? parts.slice(0, -1) : parts;
      if (table.length > 0 && table.every((p) => p !== undefined)) this.out.tablesWritten.add(table.join('.'));
    }
  }
}

/**
 * PostgreSQL's own functions that take one argument of any row type, and can therefore be called in
 * attribute notation (`c.to_json`): pg_proc entries of pg_catalog whose first argument is record,
 * anyelement, "any", anycompatible, anynonarray or anycompatiblenonarray and that need only that one
 * (PostgreSQL 15).
 */
const ROW_ARGUMENT_FUNCTIONS: ReadonlySet<string> = new Set([
  'any_out', 'anycompatible_out', 'anycompatiblenonarray_out', 'anyelement_out', 'anynonarray_out', 'concat', 'hash_record',
  'json_build_array', 'json_build_object', 'jsonb_build_array', 'jsonb_build_object', 'num_nonnulls', 'num_nulls', 'pg_collation_for',
  'pg_column_compression', 'pg_column_size', 'pg_typeof', 'quote_literal', 'quote_nullable', 'record_out', 'record_send', 'row_to_json',
  'to_json', 'to_jsonb',
]);

/** Nodes whose `typeName` is a type values are converted to (ColumnDef too, below a FROM-clause function). */
const VALUE_TYPE_PARENTS: ReadonlySet<string> = new Set(['TypeCast', 'RangeTableFuncCol', 'XmlSerialize', 'JsonOutput', 'JsonTableColumn']);

const EMPTY: ReadonlySet<string> = new Set();
const RELATION_FIELD: ReadonlySet<string> = new Set(['relation']);
const QUERY_FIELD: ReadonlySet<string> = new Set(['query']);
const SETSTMT_FIELD: ReadonlySet<string> = new Set(['setstmt']);

/**
 * The format of a COPY's output: `text` unless an option says `csv` or `binary`. A format this version
 * does not know (the server refuses it) counts as `binary`, output masking cannot read.
 */
function copyFormatOf(options: unknown): 'text' | 'csv' | 'binary' {
  let format: 'text' | 'csv' | 'binary' = 'text';
  for (const option of asArray(options)) {
    const { type, body: def } = unwrap(option);
    if (type !== 'DefElem' || def['defname'] !== 'format') continue;
    const value = def['arg'] === undefined ? undefined : unwrap(def['arg']);
    const name = value?.type === 'String' ? value.body['sval'] : undefined;
    if (name === 'binary' || (name !== 'text' && name !== 'csv')) return 'binary';
    format = name;
  }
  return format;
}

/** EXPLAIN (ANALYZE false|off|0|no): anything else, including a value we do not understand, counts as true. */
function isFalseOption(arg: unknown): boolean {
  if (arg === undefined) return false;
  const { type, body } = unwrap(arg);
  if (type === 'String' || type === 'A_Const') {
    const text = type === 'String' ? body['sval'] : isObject(body['sval']) ? body['sval']['sval'] : undefined;
    return typeof text === 'string' && ['false', 'off', '0', 'no'].includes(text.toLowerCase());
  }
  if (type === 'Boolean') return body['boolval'] !== true;
  if (type === 'Integer') return body['ival'] === undefined || body['ival'] === 0;
  return false;
}

/**
 * The schemas of `SET search_path = a, 'b', "C"`: each value is one schema name, exactly as written (the
 * server quotes each list item as an identifier). Undefined for a value that is not a string.
 */
function searchPathOf(body: Body): string[] | undefined {
  const schemas: string[] = [];
  for (const arg of asArray(body['args'])) {
    const constant = isObject(arg) ? arg['A_Const'] : undefined;
    const sval = isObject(constant) ? constant['sval'] : undefined;
    if (!isObject(sval) || typeof sval['sval'] !== 'string') return undefined;
    schemas.push(sval['sval']);
  }
  return schemas;
}

/** `SET client_encoding = 'UTF8'` and the like: a single constant equal to what the classifier assumes. */
function keepsReading(name: string, body: Body): boolean {
  const accepts = SAME_READING_VALUES.get(name);
  const args = asArray(body['args']);
  if (accepts === undefined || body['kind'] !== 'VAR_SET_VALUE' || args.length !== 1) return false;
  const constant = isObject(args[0]) ? args[0]['A_Const'] : undefined;
  const sval = isObject(constant) ? constant['sval'] : undefined;
  return isObject(sval) && typeof sval['sval'] === 'string' && accepts.test(sval['sval']);
}
