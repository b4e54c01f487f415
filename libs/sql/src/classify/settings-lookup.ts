type Body = Record<string, unknown>;

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function only(list: unknown): Body | undefined {
  return Array.isArray(list) && list.length === 1 && isObject(list[0]) ? list[0] : undefined;
}

function names(list: unknown): string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: string[] = [];
  for (const n of list) {
    if (!isObject(n) || !isObject(n['String']) || typeof n['String']['sval'] !== 'string') return undefined;
    out.push(n['String']['sval'].toLowerCase());
  }
  return out;
}

function isNameColumn(node: unknown): boolean {
  const ref = isObject(node) && isObject(node['ColumnRef']) ? node['ColumnRef'] : undefined;
  const fields = names(ref?.['fields']);
  return fields !== undefined && (fields.join('.') === 'name' || fields.join('.') === 'pg_settings.name');
}

function stringConstant(node: unknown): string | undefined {
  const c = isObject(node) && isObject(node['A_Const']) ? node['A_Const'] : undefined;
  return isObject(c?.['sval']) && typeof c['sval']['sval'] === 'string' ? c['sval']['sval'] : undefined;
}

const OTHER_CLAUSES = ['distinctClause', 'intoClause', 'groupClause', 'havingClause', 'windowClause', 'valuesLists', 'sortClause', 'limitOffset', 'limitCount', 'lockingClause', 'withClause', 'larg', 'rarg'];

/**
 * `SELECT set_config(name, 'value', false) FROM pg_settings WHERE name = 'setting'`: how pg_dump and
 * pg_restore set a setting only where the server has it (restrict_nonsystem_relation_kind). The name
 * argument is a column, but the WHERE clause pins it to one literal: the call sets that setting and no
 * other. Only this exact shape is recognised (one target, one relation, one equality, nothing else), so
 * no other column or subquery can feed the name. (A look-alike `pg_settings` earlier on the search_path
 * whose `name` has an `=` that matches everything takes CREATE TYPE/OPERATOR first: DDL, which policy decides.)
 * Returns the call node and the pinned setting name.
 */
export function settingPinnedByLookup(select: Body): { call: Body; setting: string } | undefined {
  if (OTHER_CLAUSES.some((clause) => select[clause] !== undefined && !(Array.isArray(select[clause]) && select[clause].length === 0))) return undefined;
  const relation = only(select['fromClause']);
  const rangeVar = isObject(relation?.['RangeVar']) ? relation['RangeVar'] : undefined;
  if (!rangeVar || rangeVar['relname'] !== 'pg_settings' || (rangeVar['schemaname'] !== undefined && rangeVar['schemaname'] !== 'pg_catalog') || rangeVar['alias'] !== undefined) return undefined;
  const where = isObject(select['whereClause']) && isObject(select['whereClause']['A_Expr']) ? select['whereClause']['A_Expr'] : undefined;
  if (!where || where['kind'] !== 'AEXPR_OP' || names(where['name'])?.join('.') !== '=' || !isNameColumn(where['lexpr'])) return undefined;
  const setting = stringConstant(where['rexpr']);
  const target = only(select['targetList']);
  const resTarget = isObject(target?.['ResTarget']) ? target['ResTarget'] : undefined;
  const call = isObject(resTarget?.['val']) && isObject(resTarget['val']['FuncCall']) ? resTarget['val']['FuncCall'] : undefined;
  const fn = names(call?.['funcname'])?.join('.');
  if (setting === undefined || !call || (fn !== 'set_config' && fn !== 'pg_catalog.set_config')) return undefined;
  const args = Array.isArray(call['args']) ? call['args'] : [];
  if (args.length !== 3 || !isNameColumn(args[0])) return undefined;
  return { call, setting };
}
