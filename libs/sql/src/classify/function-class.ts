import type { SqlAction } from '../actions.js';

/** What calling a built-in function does, as decided by scripts/function-review.mjs. */
export type FunctionClass =
  | 'read'
  | 'volatile-read'
  | 'uncallable'
  | 'sequence-write'
  | 'lo-create'
  | 'lo-write'
  | 'lo-delete'
  | 'session'
  | 'advisory-lock'
  | 'setting'
  | 'sql-text'
  | 'table-reader'
  | 'admin'
  | 'unreviewed';

/**
 * One row of pg-functions.generated.ts: schema, name, identity arguments, volatility, kind, returns a set
 * (0/1), return type, fewest arguments, most arguments (-1 = variadic), class, and for `sql-text` the
 * 0-based positions of the arguments that hold SQL.
 */
export type GeneratedFunctionRow =
  | readonly [string, string, string, string, string, number, string, number, number, FunctionClass]
  | readonly [string, string, string, string, string, number, string, number, number, FunctionClass, readonly number[]];

interface ClassEffect {
  readonly actions: readonly SqlAction[];
  /** The call cannot run in a read-only transaction or holds something past the statement. */
  readonly notReadOnly?: boolean;
}

/**
 * How each class maps to policy actions. `setting`, `sql-text` and `table-reader` also depend on the
 * call's arguments (the walker looks at them); their fixed part is here.
 */
export const CLASS_EFFECTS: Readonly<Record<FunctionClass, ClassEffect>> = {
  read: { actions: [] },
  'volatile-read': { actions: [] },
  uncallable: { actions: [] },
  'sequence-write': { actions: ['sql:update'] },
  'lo-create': { actions: ['sql:insert'] },
  'lo-write': { actions: ['sql:update'] },
  'lo-delete': { actions: ['sql:delete'] },
  session: { actions: ['sql:session'] },
  'advisory-lock': { actions: ['sql:session'], notReadOnly: true },
  setting: { actions: [] },
  'sql-text': { actions: [] },
  'table-reader': { actions: ['sql:select'] },
  admin: { actions: ['sql:admin'] },
  unreviewed: { actions: ['sql:admin'] },
};

/**
 * Everything known about one function name, merged over all its overloads (worst case first: a call is
 * matched by name alone, since the classifier does not resolve argument types).
 */
export interface FunctionRule {
  readonly actions: readonly SqlAction[];
  readonly notReadOnly: boolean;
  /** set_config: the action depends on the setting name in argument 0. */
  readonly setting: boolean;
  /** Reads the table named by argument 0. */
  readonly tableReader: boolean;
  /** For SQL-text runners: argument count => positions of the SQL arguments for an overload of that arity. */
  readonly sqlTextArgs?: ReadonlyMap<number, readonly number[]>;
  /** The classes of its overloads (for diagnostics and tests). */
  readonly classes: readonly FunctionClass[];
}

interface MutableRule {
  actions: Set<SqlAction>;
  notReadOnly: boolean;
  setting: boolean;
  tableReader: boolean;
  sqlTextArgs: Map<number, Set<number>>;
  classes: Set<FunctionClass>;
}

const MAX_VARIADIC_ARITY = 100; // PostgreSQL's FUNC_MAX_ARGS

/** Builds the name => rule map once; a lookup on the hot path is one Map get. */
export function buildFunctionRules(
  rows: readonly GeneratedFunctionRow[],
  extra: Readonly<Record<string, FunctionClass>>,
): ReadonlyMap<string, FunctionRule> {
  const rules = new Map<string, MutableRule>();
  const add = (name: string, cls: FunctionClass, minArgs: number, maxArgs: number, sqlArgs: readonly number[] | undefined) => {
    const key = name.toLowerCase();
    let rule = rules.get(key);
    if (rule === undefined) {
      rule = { actions: new Set(), notReadOnly: false, setting: false, tableReader: false, sqlTextArgs: new Map(), classes: new Set() };
      rules.set(key, rule);
    }
    rule.classes.add(cls);
    const effect = CLASS_EFFECTS[cls];
    for (const action of effect.actions) rule.actions.add(action);
    if (effect.notReadOnly === true) rule.notReadOnly = true;
    if (cls === 'setting') rule.setting = true;
    if (cls === 'table-reader') rule.tableReader = true;
    if (cls === 'sql-text') {
      if (sqlArgs === undefined || sqlArgs.length === 0) throw new Error(`${name}: sql-text function without SQL argument positions`);
      const upper = maxArgs < 0 ? MAX_VARIADIC_ARITY : maxArgs;
      for (let arity = minArgs; arity <= upper; arity += 1) {
        const positions = rule.sqlTextArgs.get(arity) ?? new Set<number>();
        for (const p of sqlArgs) positions.add(p);
        rule.sqlTextArgs.set(arity, positions);
      }
    }
  };
  for (const row of rows) add(row[1], row[9], row[7], row[8], row[10]);
  for (const [name, cls] of Object.entries(extra)) add(name, cls, 0, -1, undefined);

  const frozen = new Map<string, FunctionRule>();
  for (const [name, rule] of rules) {
    const sqlTextArgs =
      rule.sqlTextArgs.size === 0
        ? undefined
        : new Map([...rule.sqlTextArgs].map(([arity, positions]) => [arity, Object.freeze([...positions].sort())] as const));
    frozen.set(
      name,
      Object.freeze({
        actions: Object.freeze([...rule.actions].sort()),
        notReadOnly: rule.notReadOnly,
        setting: rule.setting,
        tableReader: rule.tableReader,
        ...(sqlTextArgs ? { sqlTextArgs } : {}),
        classes: Object.freeze([...rule.classes].sort()),
      }),
    );
  }
  return frozen;
}
