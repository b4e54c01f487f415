import { parseSql } from './parser/load.js';

/** A column an output column of a view is computed from, as written in the view's definition. */
export interface ViewColumnSource {
  /** The relation the reference names (`schema.table` or `table`, aliases resolved); undefined when unqualified. */
  readonly relation?: string;
  readonly column: string;
}

/** Where one output column of a view comes from. */
export interface ViewColumnLineage {
  /** The column is a source column passed through as it is (`c.email`, `email AS contact`). */
  readonly direct: boolean;
  readonly sources: readonly ViewColumnSource[];
  /**
   * The column's origin cannot be told from names alone (a `*`, a whole-row reference, a column of a
   * subquery, CTE or function in FROM): treat it as derived from every column the view depends on.
   */
  readonly opaque: boolean;
}

type Node = Record<string, unknown>;

function isObject(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ RangeVar: {...} }` anywhere in the tree, with the name it is visible under. */
function collectRelations(tree: unknown, relations: Map<string, Set<string>>, opaqueAliases: Set<string>): void {
  if (Array.isArray(tree)) {
    for (const item of tree) collectRelations(item, relations, opaqueAliases);
    return;
  }
  if (!isObject(tree)) return;
  for (const [type, body] of Object.entries(tree)) {
    if (!isObject(body)) {
      collectRelations(body, relations, opaqueAliases);
      continue;
    }
    const alias = isObject(body['alias']) && typeof body['alias']['aliasname'] === 'string' ? body['alias']['aliasname'] : undefined;
    if (type === 'RangeVar' && typeof body['relname'] === 'string') {
      const relation = typeof body['schemaname'] === 'string' ? `${body['schemaname']}.${body['relname']}` : body['relname'];
      for (const name of [alias ?? body['relname'], relation]) {
        const set = relations.get(name) ?? new Set<string>();
        set.add(relation);
        relations.set(name, set);
      }
    } else if ((type === 'RangeSubselect' || type === 'RangeFunction' || type === 'RangeTableFunc') && alias !== undefined) {
      opaqueAliases.add(alias);
    } else if (type === 'CommonTableExpr' && typeof body['ctename'] === 'string') {
      opaqueAliases.add(body['ctename']);
    }
    collectRelations(body, relations, opaqueAliases);
  }
}

/** Every ColumnRef's fields (names, or `*` for A_Star) in an expression, subqueries included. */
function collectColumnRefs(tree: unknown, out: string[][]): void {
  if (Array.isArray(tree)) {
    for (const item of tree) collectColumnRefs(item, out);
    return;
  }
  if (!isObject(tree)) return;
  for (const [type, body] of Object.entries(tree)) {
    if (type === 'ColumnRef' && isObject(body)) {
      out.push(fieldsOf(body));
      continue;
    }
    collectColumnRefs(body, out);
  }
}

function fieldsOf(columnRef: Node): string[] {
  const fields = Array.isArray(columnRef['fields']) ? (columnRef['fields'] as unknown[]) : [];
  return fields.map((f) => {
    if (isObject(f) && isObject(f['String']) && typeof f['String']['sval'] === 'string') return f['String']['sval'];
    return '*';
  });
}

interface Scope {
  readonly relations: Map<string, Set<string>>;
  readonly opaqueAliases: Set<string>;
}

function lineageOfTarget(value: unknown, scope: Scope): ViewColumnLineage {
  const refs: string[][] = [];
  collectColumnRefs(value, refs);
  const sources: ViewColumnSource[] = [];
  let opaque = false;
  for (const fields of refs) {
    const column = fields[fields.length - 1] ?? '*';
    if (column === '*') {
      opaque = true;
      continue;
    }
    if (fields.length === 1) {
      // A bare name that is a relation or alias in FROM is a whole-row reference (`row_to_json(c)`).
      if (scope.relations.has(column) || scope.opaqueAliases.has(column)) opaque = true;
      else sources.push({ column });
      continue;
    }
    const qualifier = fields.slice(0, -1).join('.');
    const relations = scope.relations.get(qualifier);
    if (relations === undefined || scope.opaqueAliases.has(qualifier)) {
      opaque = true; // a subquery's, CTE's or function's column: its origin is inside, under another name
      continue;
    }
    for (const relation of relations) sources.push({ relation, column });
  }
  const direct = isObject(value) && 'ColumnRef' in value && !opaque && sources.length === 1;
  return { direct, sources, opaque };
}

function lineageOfSelect(select: Node, scope: Scope): ViewColumnLineage[] {
  if (typeof select['op'] === 'string' && select['op'] !== 'SETOP_NONE') {
    const left = isObject(select['larg']) ? lineageOfSelect(select['larg'], scope) : [];
    const right = isObject(select['rarg']) ? lineageOfSelect(select['rarg'], scope) : [];
    return left.map((l, i) => {
      const r = right[i];
      return { direct: false, sources: [...l.sources, ...(r?.sources ?? [])], opaque: l.opaque || r === undefined || r.opaque };
    });
  }
  const targets = Array.isArray(select['targetList']) ? (select['targetList'] as unknown[]) : [];
  return targets.map((target) => {
    const res = isObject(target) && isObject(target['ResTarget']) ? target['ResTarget'] : undefined;
    return res ? lineageOfTarget(res['val'], scope) : { direct: false, sources: [], opaque: true };
  });
}

/**
 * Where each output column of a view comes from, read from its definition (`pg_get_viewdef`) with the
 * real parser: one entry per output column, in order. Name-based, so it over-approximates: where a
 * reference could mean several relations, all are listed; where it cannot be traced, it is opaque.
 * Throws SqlClassificationError when the definition does not parse.
 */
export function viewColumnLineage(definition: string): ViewColumnLineage[] {
  const tree = parseSql(definition);
  const statement = tree.stmts?.[0]?.stmt as unknown;
  if (tree.stmts?.length !== 1 || !isObject(statement) || !isObject(statement['SelectStmt'])) return [];
  const scope: Scope = { relations: new Map(), opaqueAliases: new Set() };
  collectRelations(statement, scope.relations, scope.opaqueAliases);
  return lineageOfSelect(statement['SelectStmt'], scope);
}
