/** What a walk of a node-sql-parser tree finds: the tables, functions and columns a statement names. */
export interface AstFacts {
  tables: Set<string>;
  functions: Set<string>;
  columns: Set<string>;
}

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;

/** A scalar of the tree as text; anything else (an object where a name was expected) as ''. */
export const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** `db.table` when qualified, bare otherwise; lower-cased (MySQL compares them by the file system, policies by lower case). */
export function tableName(ref: Node): string | undefined {
  if (typeof ref['table'] !== 'string') return undefined;
  const db = typeof ref['db'] === 'string' && ref['db'] ? `${ref['db']}.` : '';
  return `${db}${ref['table']}`.toLowerCase();
}

function functionName(node: Node): string | undefined {
  const name = node['name'];
  if (typeof name === 'string') return name.toLowerCase();
  if (isNode(name) && Array.isArray(name['name'])) {
    return (name['name'] as Node[]).map((part) => str(part['value'])).join('.').toLowerCase();
  }
  return undefined;
}

function columnName(node: Node): string | undefined {
  const column = node['column'];
  if (typeof column === 'string') return column.toLowerCase();
  if (isNode(column) && isNode(column['expr'])) return str(column['expr']['value']).toLowerCase();
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
    } else if (type === 'function' || type === 'aggr_func') {
      const name = functionName(node);
      if (name) facts.functions.add(name);
    } else if ('db' in node) {
      const table = tableName(node);
      if (table !== undefined) facts.tables.add(table);
    }
    for (const [key, value] of Object.entries(node)) {
      if (isRoot && skipRootKeys.has(key)) continue;
      if (isNode(value)) stack.push({ node: value, root: false });
    }
  }
}

/** The names a WITH clause defines (they look like tables to the walk). */
export function cteNames(ast: Node): Set<string> {
  const out = new Set<string>();
  const withs = ast['with'];
  if (!Array.isArray(withs)) return out;
  for (const w of withs as Node[]) {
    const name = w['name'];
    const value = isNode(name) ? name['value'] : name;
    if (typeof value === 'string') out.add(value.toLowerCase());
  }
  return out;
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
