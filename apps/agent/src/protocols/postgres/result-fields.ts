import { derivedValueStyle, strongestStyle, type ColumnRef, type MaskStyle } from '@gw/masking';
import type { FieldDescription } from '@gw/protocol-postgres';
import type { StatementClassification } from '@gw/sql';
import type { ColumnCatalog } from './column-catalog.js';
import { maskFields, type MaskField } from './row-masking.js';
import { styleForColumns, type StatementVerdict } from './statement-policy.js';

/**
 * How each column of a result is to be masked: the RowDescription's fields resolved to their source
 * columns (through views) and the style for values computed from ruled columns. Synchronous when the
 * catalog already knows what is needed; otherwise a promise (column rules need table names and view
 * lineage from the database: the caller keeps the relay paused meanwhile). Values computed from a
 * column named for a masked entity take that entity's style unless they are scalars (maskFields).
 */
export function describeResultFields(
  fields: readonly FieldDescription[],
  verdict: StatementVerdict | undefined,
  statement: StatementClassification | undefined,
  catalog: ColumnCatalog,
): MaskField[] | Promise<MaskField[]> {
  const styleOf = (columns: readonly ColumnRef[]): MaskStyle | undefined => (verdict ? styleForColumns(verdict.masking, columns) : undefined);
  const build = (derivedStyle: MaskStyle | undefined): MaskField[] =>
    maskFields(fields, (oid, att, name) => catalog.resolve(oid, att, name), derivedStyle, styleOf, statement?.columnsReferenced, verdict?.entityDerivedStyle);
  const needsNames = verdict === undefined || verdict.masking.columns.length > 0;
  if (!needsNames) return build(verdict?.derivedStyle);
  const missing = catalog.missing(fields.map((f) => f.tableOid));
  // Expressions computed over a view's columns: the rules on the table columns behind them apply.
  const overViews = verdict !== undefined && statement !== undefined && statement.tablesRead.length > 0 && fields.some((f) => f.tableOid === 0);
  if (missing.length === 0 && !overViews) return build(verdict?.derivedStyle);
  return (async () => {
    await catalog.load(missing);
    let derivedStyle = verdict?.derivedStyle;
    if (overViews) {
      await catalog.loadViewsNamed(statement.tablesRead);
      const sources = catalog.viewSources(statement.tablesRead, statement.columnsReferenced);
      derivedStyle = strongestStyle([derivedStyle, derivedValueStyle(styleForColumns(verdict.masking, sources))].filter((x): x is MaskStyle => x !== undefined));
    }
    return build(derivedStyle);
  })();
}
