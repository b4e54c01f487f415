import mariadbGrammar from 'node-sql-parser/build/mariadb.js';

/**
 * Where one column of a view comes from, read from the view's definition (the one SELECT the server
 * keeps in information_schema.VIEWS, every column qualified and named with AS).
 * - `column`: the column is one column of a table (or of another view) as it is, `table` as the
 *   definition names it (lower case, `schema.table` when qualified, as the server stores definitions);
 * - otherwise the column is computed, and `references` lists every column its value is computed from
 *   (`table.column` where the table is known, else the bare column), subqueries included.
 */
export interface ViewColumn {
  readonly name: string;
  readonly column?: { readonly table: string; readonly column: string };
  readonly references: readonly string[];
}

type Node = Record<string, unknown>;
const { Parser } = mariadbGrammar as unknown as { Parser: new () => { astify(sql: string, opt?: object): Node | Node[] } };
const parser = new Parser();

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;

/** An identifier as the parser gives it: a plain string or a quoted-string node. */
function nameOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isNode(v) && typeof v.value === 'string') return v.value;
  return undefined;
}

/** The tables a FROM list names, by the alias (or name) the select list uses for them; derived tables map to undefined. */
function fromEntries(from: unknown): Node[] {
  const entries: unknown[] = Array.isArray(from) ? from : isNode(from) && Array.isArray(from.expr) ? from.expr : [];
  return entries.filter(isNode);
}

function fromAliases(from: unknown): Map<string, string | undefined> {
  const aliases = new Map<string, string | undefined>();
  for (const entry of fromEntries(from)) {
    const table = nameOf(entry.table);
    const alias = nameOf(entry.as) ?? table;
    if (alias === undefined) continue;
    const db = nameOf(entry.db);
    aliases.set(alias.toLowerCase(), entry.expr !== undefined || table === undefined ? undefined : `${db ? `${db}.` : ''}${table}`.toLowerCase());
  }
  return aliases;
}

/** What a walk found: the references, and whether some qualifier named no relation in scope. */
interface Found {
  readonly references: Set<string>;
  unresolved: boolean;
}

/** Every column reference under `node`, resolved through `aliases`. */
function referencesIn(node: unknown, aliases: Map<string, string | undefined>, found: Found): void {
  if (Array.isArray(node)) {
    for (const item of node) referencesIn(item, aliases, found);
    return;
  }
  if (!isNode(node)) return;
  if (node.type === 'column_ref') {
    const column = nameOf(node.column);
    if (column === undefined) return;
    const qualifier = nameOf(node.table)?.toLowerCase();
    // A qualifier that names nothing in scope means the definition was not read as the server reads it.
    if (qualifier !== undefined && !aliases.has(qualifier)) found.unresolved = true;
    const table = qualifier === undefined ? undefined : aliases.get(qualifier);
    found.references.add(table ? `${table}.${column.toLowerCase()}` : column.toLowerCase());
    return;
  }
  // A subquery brings its own FROM list; its references resolve through it first.
  const inner = isNode(node.ast) ? node.ast : node.type === 'select' ? node : undefined;
  if (inner && inner !== node) return referencesIn(inner, aliases, found);
  const scoped = node.type === 'select' ? new Map([...aliases, ...fromAliases(node.from)]) : aliases;
  for (const [key, value] of Object.entries(node)) if (key !== 'tableList' && key !== 'columnList') referencesIn(value, scoped, found);
}

/**
 * The columns of a view by its definition, in order; undefined when the definition does not parse as
 * one SELECT whose columns can all be followed (a `*`, a column without a name): the caller then
 * treats every column of the view as possibly holding any column behind it.
 */
export function viewColumns(definition: string): ViewColumn[] | undefined {
  let tree: Node | Node[];
  try {
    tree = parser.astify(definition, { database: 'MariaDB' });
  } catch {
    return undefined;
  }
  const select = Array.isArray(tree) ? (tree.length === 1 ? tree[0] : undefined) : tree;
  if (!isNode(select) || select.type !== 'select' || !Array.isArray(select.columns)) return undefined;
  const branches: Node[] = [];
  for (let branch: unknown = select; isNode(branch); branch = branch._next) {
    if (branch.type !== 'select' || !Array.isArray(branch.columns) || branch.columns.length !== select.columns.length) return undefined;
    branches.push(branch);
  }
  const withNames = new Set(Array.isArray(select.with) ? select.with.map((w) => nameOf(isNode(w) ? w.name : undefined)?.toLowerCase()) : []);
  const columns: ViewColumn[] = [];
  for (let i = 0; i < select.columns.length; i++) {
    const first = (select.columns as Node[])[i]!;
    const expr = isNode(first.expr) ? first.expr : undefined;
    const name = nameOf(first.as) ?? (expr?.type === 'column_ref' ? nameOf(expr.column) : undefined);
    if (!expr || name === undefined || name === '*') return undefined;
    const found: Found = { references: new Set<string>(), unresolved: false };
    for (const branch of branches) {
      const item = (branch.columns as Node[])[i]!;
      if (isNode(item.expr) && item.expr.type === 'column_ref' && nameOf(item.expr.column) === '*') return undefined;
      const aliases = fromAliases(branch.from);
      for (const name of withNames) if (name) aliases.set(name, undefined);
      referencesIn(select.with, aliases, found);
      referencesIn(item.expr, aliases, found);
      // A derived table's columns are what its own select list computes: everything under it counts.
      for (const derived of fromEntries(branch.from)) if (derived.expr !== undefined) referencesIn(derived.expr, aliases, found);
    }
    if (found.unresolved) return undefined;
    const references = found.references;
    // One column of one named table (not a CTE, not a derived table) in every branch: the column itself.
    const only = references.size === 1 && branches.length === 1 && expr.type === 'column_ref' ? [...references][0]! : undefined;
    const dot = only?.lastIndexOf('.') ?? -1;
    const table = only && dot > 0 ? only.slice(0, dot) : undefined;
    const column = table && !withNames.has(table) ? { table, column: only!.slice(dot + 1) } : undefined;
    columns.push({ name: name.toLowerCase(), ...(column ? { column } : {}), references: [...references] });
  }
  return columns;
}
