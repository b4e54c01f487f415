import { NO_HINTS, entitiesNamedBy, hintsFromNames, ruleTableMatches } from '@gw/masking';
import type { MaskingObligation } from '@gw/policy';
import type { StatementClassification } from '@gw/sql';
import type { ViewLineage } from './view-masking.js';

const NOTHING_BEHIND: ViewLineage = { tables: [], columns: [], opaque: false };

/*
 * Masking happens on the way to the client, by what names a value: its column (a column rule, or a
 * name such as `ssn` that makes bare digits an SSN), or its shape (an e-mail, a card number). A
 * statement can also put a value where it is read back later under another name: a setting, a
 * notification, a MySQL user variable, another column or table. Read back, only its shape can still
 * give it away, so a value whose masking depends on its column must not be kept that way.
 */

/**
 * Functions that keep a value in the session beyond the statement's result (a setting read back with
 * `current_setting`, a notification payload) or in the database outside any column (a large object).
 */
const VALUE_KEEPING_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['set_config', 'in a setting'],
  ['pg_notify', 'in a notification'],
  ['lo_from_bytea', 'in a large object'],
  ['lo_put', 'in a large object'],
  ['lowrite', 'in a large object'],
]);

/** Whether the statement keeps any value beyond its result (in the session or in a table). */
export function keepsValues(statement: StatementClassification): boolean {
  return statement.columnsStored !== undefined || sessionPlaces(statement).length > 0;
}

export interface KeptValues {
  /** The masked columns, for the denial (`column ssn, column salary`). */
  columns: string;
  /** Where they would be kept (`in a user variable`). */
  where: string;
}

/**
 * The masked columns whose values the statement would keep where their masking cannot follow them,
 * or undefined when it keeps none. Masked by their column are: the columns of the column rules that
 * apply to the statement's tables, and, under entity masking, the columns whose names make bare
 * digits an entity and the columns named for a masked entity that the statement reshapes
 * (`set_config('x', replace(email, '@', '#'), false)`: StatementClassification.columnsComputed; read
 * back, the value no longer has the shape its recognizer looks for). A star or a whole row may be any
 * of them.
 */
export function maskedValuesKept(masking: MaskingObligation, statement: StatementClassification, tables: readonly string[], behind: ViewLineage = NOTHING_BEHIND): KeptValues | undefined {
  if (masking.columns.length === 0 && masking.entities.length === 0) return undefined;
  const places: { columns: readonly string[]; where: string }[] = [];
  const session = sessionPlaces(statement);
  // A view's columns may be any column behind it (every one, when its definition is unknown).
  const viewed = [...behind.columns, ...(behind.opaque ? ['*'] : [])];
  // What the session keeps may come from any column the statement references.
  if (session.length > 0) places.push({ columns: [...statement.columnsReferenced, ...viewed], where: session.join(', ') });
  if (statement.columnsStored) places.push({ columns: [...statement.columnsStored, ...viewed], where: 'in a table' });
  const allTables = [...tables, ...behind.tables];
  for (const { columns, where } of places) {
    const masked = maskedAmong(masking, columns, allTables, statement.columnsComputed ?? []);
    if (masked.length > 0) return { columns: masked.map((c) => (c === '*' ? 'every column (*)' : `column ${c}`)).join(', '), where };
  }
  return undefined;
}

function sessionPlaces(statement: StatementClassification): string[] {
  const places = new Set<string>();
  if (statement.storesUserVariables) places.add('in a user variable');
  for (const f of statement.functions) {
    const where = VALUE_KEEPING_FUNCTIONS.get(f.replace(/^pg_catalog\./, ''));
    if (where !== undefined) places.add(where);
  }
  return [...places];
}

function maskedAmong(masking: MaskingObligation, columns: readonly string[], tables: readonly string[], computed: readonly string[]): string[] {
  const star = columns.includes('*');
  const ruled = masking.columns
    .filter((rule) => (star || columns.includes(rule.column.toLowerCase())) && (rule.table === '*' || tables.some((table) => ruleTableMatches(rule.table, table))))
    .map((rule) => (star && !columns.includes(rule.column.toLowerCase()) ? '*' : rule.column.toLowerCase()));
  const hinted = masking.entities.length > 0 ? columns.filter((c) => c === '*' || hintsFromNames([c]) !== NO_HINTS) : [];
  const masked = new Set(masking.entities.map((rule) => rule.entity));
  const reshaped = columns.filter((c) => computed.includes(c) && entitiesNamedBy(c).some((entity) => masked.has(entity)));
  return [...new Set([...ruled, ...hinted, ...reshaped])].sort();
}
