import { strongestStyle, type MaskStyle } from '@gw/masking';
import type { MaskingObligation } from '@gw/policy';

/**
 * What is behind a view, for masking: the base tables and the columns its definition (and the views it
 * reads) references. `opaque`: the definition could not be read; it may hold any column.
 */
export interface ViewLineage {
  readonly tables: readonly string[];
  readonly columns: readonly string[];
  readonly opaque: boolean;
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
