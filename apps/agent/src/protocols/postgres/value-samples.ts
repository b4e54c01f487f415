import type { MaskingObligation } from '@gw/policy';
import type { StatementClassification } from '@gw/sql';

/*
 * The planner's statistics keep samples of every column's values: Postgres' `pg_stats`
 * (`most_common_vals`, `histogram_bounds`, `most_common_elems`, readable for every column the role may
 * read), extended statistics, MySQL 8's `information_schema.COLUMN_STATISTICS` histograms. A result
 * column there names the statistics view, not the column the values come from, so neither a column
 * rule nor a column name's hint can follow them; shaped values (e-mails, cards) would still be found,
 * but a name, a salary or bare SSN digits would not.
 */

/** Statistics relations (schema-less, lower case) and their columns that hold sampled values. */
const SAMPLE_COLUMNS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['pg_stats', new Set(['most_common_vals', 'histogram_bounds', 'most_common_elems'])],
  ['pg_stats_ext', new Set(['most_common_vals'])],
  ['pg_stats_ext_exprs', new Set(['most_common_vals', 'histogram_bounds', 'most_common_elems'])],
  ['pg_statistic', new Set(['stavalues1', 'stavalues2', 'stavalues3', 'stavalues4', 'stavalues5'])],
  ['pg_statistic_ext_data', new Set(['stxdmcv', 'stxdexpr'])],
  ['column_statistics', new Set(['histogram'])],
]);
const SCHEMAS = new Set(['pg_catalog', 'information_schema']);

/**
 * Under masking, the statistics' sampled values are not read: returns the relation whose samples the
 * statement reads (by a sample column's name, a star or a whole row), or undefined.
 */
export function valueSamplesRead(masking: MaskingObligation, statement: StatementClassification): string | undefined {
  if (masking.columns.length === 0 && masking.entities.length === 0) return undefined;
  for (const table of statement.tablesRead) {
    const dot = table.lastIndexOf('.');
    if (dot !== -1 && !SCHEMAS.has(table.slice(0, dot))) continue;
    const samples = SAMPLE_COLUMNS.get(table.slice(dot + 1));
    if (samples && statement.columnsReferenced.some((c) => c === '*' || samples.has(c))) return table;
  }
  return undefined;
}
