import { strongestStyle, type MaskStyle } from '@gw/masking';
import type { MaskingObligation } from '@gw/policy';
import type { ViewColumn } from '@gw/sql-mysql';

/**
 * What is behind a view, for masking: the base tables and the columns its definition (and the views it
 * reads) references. `opaque`: the definition could not be read; it may hold any column.
 */
export interface ViewLineage {
  readonly tables: readonly string[];
  readonly columns: readonly string[];
  readonly opaque: boolean;
  /** Where each of its columns comes from (MySQL, by lower-cased name); absent when not followed. */
  readonly columnsByName?: ReadonlyMap<string, ViewColumn>;
  /** The schema the view is in (lower case), known with `columnsByName`. */
  readonly schema?: string;
}

/** What a view's column holds: one base column as it is, or a value computed from `references`. */
export interface FollowedColumn {
  readonly column?: { readonly table: string; readonly column: string };
  readonly references: readonly string[];
}

/** Views on views deeper than this are not followed (their columns stay masked as derived). */
const MAX_VIEW_DEPTH = 16;

/**
 * What a table name in a view's definition names: a view known by that name in that schema, a base
 * table (no view of that name, or the view of that name is in another schema), or unknown (a view of
 * that name exists and the name carries no schema, or the view's schema is not known).
 */
function relationKind(views: ReadonlyMap<string, ViewLineage> | undefined, table: string): 'view' | 'table' | 'unknown' {
  const view = viewNamed(views, table);
  if (!view) return 'table';
  const dot = table.lastIndexOf('.');
  if (dot < 0 || view.schema === undefined) return 'unknown';
  return view.schema === table.slice(0, dot).toLowerCase() ? 'view' : 'table';
}

/**
 * A view's column followed through views on views to the base column it is, or to the base columns
 * it is computed from; undefined when some step is not known (the caller masks it as derived).
 */
export function followViewColumn(views: ReadonlyMap<string, ViewLineage> | undefined, view: string, column: string, depth = 0): FollowedColumn | undefined {
  if (depth > MAX_VIEW_DEPTH) return undefined;
  const found = viewNamed(views, view)?.columnsByName?.get(column.toLowerCase());
  if (!found) return undefined;
  if (found.column) {
    const kind = relationKind(views, found.column.table);
    if (kind === 'table') return { column: found.column, references: found.references };
    if (kind === 'unknown') return undefined;
    return followViewColumn(views, found.column.table, found.column.column, depth + 1);
  }
  const references: string[] = [];
  for (const reference of found.references) {
    const dot = reference.lastIndexOf('.');
    const table = dot > 0 ? reference.slice(0, dot) : undefined;
    const kind = table ? relationKind(views, table) : 'table';
    if (kind === 'unknown') return undefined;
    if (kind === 'table') {
      references.push(reference);
      continue;
    }
    const inner = followViewColumn(views, table!, reference.slice(dot + 1), depth + 1);
    if (!inner) return undefined;
    references.push(...inner.references);
  }
  return { references };
}

/** The view a table name read by a statement names, if any (matched without schema, lower-cased). */
export function viewNamed(views: ReadonlyMap<string, ViewLineage> | undefined, table: string): ViewLineage | undefined {
  return views?.get((table.split('.').pop() ?? table).toLowerCase());
}

/** The base tables and columns behind the views among `tables` (names matched without schema). */
export function behindViews(views: ReadonlyMap<string, ViewLineage> | undefined, tables: readonly string[]): ViewLineage {
  const behind = { tables: [] as string[], columns: [] as string[], opaque: false };
  if (!views || views.size === 0) return behind;
  for (const table of tables) {
    const view = viewNamed(views, table);
    if (!view) continue;
    behind.tables.push(...view.tables);
    behind.columns.push(...view.columns);
    behind.opaque ||= view.opaque;
  }
  return behind;
}

/** For an opaque view: it may show any ruled column, so the strongest style of all rules. */
export function opaqueViewStyle(masking: MaskingObligation): MaskStyle | undefined {
  return strongestStyle(masking.columns.map((rule) => rule.style));
}
