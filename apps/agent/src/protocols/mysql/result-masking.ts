import { derivedValueStyle, hintsFromNames, strongestStyle, type Masker, type MaskStyle, type NumberKind, type ValueHints } from '@gw/masking';
import {
  TYPE, UTF8MB4_CHARSET, binaryString, binaryValueText, encodeBinaryRow, encodeColumnDefinition, encodeTextRow, parseBinaryRow, parseTextRow,
  type ColumnDefinition,
} from '@gw/protocol-mysql';
import { followViewColumn, viewNamed, type FollowedColumn, type ViewLineage } from '../postgres/view-masking.js';

/**
 * What result masking needs to follow a view's columns: the views, and the names the statements give
 * their relations (MysqlStatementClassification.relations). The server names a view's alias, or a derived
 * table's, as the source of its columns, so only a name bound to one view alone, in that view's schema,
 * says that a column comes from that view.
 */
export interface ViewSources {
  readonly views: ReadonlyMap<string, ViewLineage>;
  readonly relations: ReadonlyMap<string, string | null>;
}

/** Column types whose values are text (scanned for entities and masked in place). */
const TEXT_TYPES: ReadonlySet<number> = new Set([
  TYPE.VARCHAR, TYPE.VAR_STRING, TYPE.STRING, TYPE.TINY_BLOB, TYPE.MEDIUM_BLOB, TYPE.LONG_BLOB, TYPE.BLOB, TYPE.JSON, TYPE.ENUM, TYPE.SET,
]);
/** Number column types, as the masking reads their text (see entityInNumber). */
const NUMBER_KINDS: ReadonlyMap<number, NumberKind> = new Map([
  [TYPE.TINY, 'integer'], [TYPE.SHORT, 'integer'], [TYPE.LONG, 'integer'], [TYPE.INT24, 'integer'], [TYPE.LONGLONG, 'integer'], [TYPE.YEAR, 'integer'],
  [TYPE.DECIMAL, 'numeric'], [TYPE.NEWDECIMAL, 'numeric'], [TYPE.FLOAT, 'float'], [TYPE.DOUBLE, 'float'],
]);

/** How one column of a result set is masked. */
type ColumnPlan =
  /** A column rule (or a value derived from a ruled column): the whole value in this style. */
  | { kind: 'style'; style: MaskStyle }
  /**
   * Text: entities masked in place (`computed`: an expression's result, also read backwards; `hints`:
   * what the column's names say bare digits are, see hintsFromNames).
   */
  | { kind: 'scan'; computed: boolean; hints: ValueHints }
  /** A number: replaced by NULL when it is itself an entity (a card number in a BIGINT, an `ssn INT`). */
  | { kind: 'number'; numberKind: NumberKind; hints: ValueHints }
  /** A server message about a statement that referenced a ruled column (SHOW WARNINGS): quoted values masked. */
  | { kind: 'message' }
  | { kind: 'keep' };

/**
 * The masking of one result set, decided from its column definitions: a column's source
 * (schema.org_table.org_name, given by the server for every column read from a table) picks its
 * column rule; expression columns (no source) are masked as derived when the statement references a
 * ruled column. So are columns of a derived table (`FROM (SELECT salary AS x FROM pay) d`): for those
 * the server names the derived table and its alias (`d.x`), not the table the value comes from, so a
 * source that is none of the tables the statement reads is taken for an expression. The session leaves
 * views out of those tables for the same reason (the policy has looked behind them: view-masking.ts). A column masked whole whose type is not text is declared as text to the client
 * (VAR_STRING, utf8mb4), so drivers do not read `***` as a number.
 */
export class ResultMasking {
  private readonly plans: ColumnPlan[];
  readonly columns: ColumnDefinition[];
  readonly masks: boolean;

  /**
   * `referencedColumns`: the columns the statement references, which name what an expression column
   * holds (`REPLACE(ssn, '-', '')` is named after the expression, not the column).
   */
  constructor(
    private readonly source: readonly ColumnDefinition[],
    masker: Masker | undefined,
    /** The statement's derived styles (StatementVerdict.derivedStyle, entityDerivedStyle). */
    derived: DerivedStyles,
    referencedColumns: readonly string[] = [],
    /** The tables the statement reads (as classified: `db.table` or `table`, lower case). */
    tablesRead: readonly string[] = [],
    /** The rows are server messages quoting values of a ruled column (see MysqlSessionCore.warningsQuoting). */
    quotedMessages = false,
    viewSources?: ViewSources,
  ) {
    const columns = source;
    const tables = new Set(tablesRead.map((t) => t.slice(t.lastIndexOf('.') + 1)));
    this.plans = columns.map((c) => (quotedMessages && masker && TEXT_TYPES.has(c.type) ? { kind: 'message' } : planFor(c, masker, derivedStyleFor(c, derived), referencedColumns, tables, viewSources)));
    this.masks = masker !== undefined && this.plans.some((p) => p.kind !== 'keep');
    this.columns = columns.map((c, i) => (this.plans[i]!.kind === 'style' && !TEXT_TYPES.has(c.type) ? asText(c) : c));
  }

  /** The column definitions the client sees (re-encoded only where masking makes a value text). */
  definitionPayloads(original: readonly Buffer[]): Buffer[] {
    return original.map((raw, i) => (this.columns[i] !== this.source[i] ? encodeColumnDefinition(this.columns[i]!) : raw));
  }

  /** A text-protocol row as the client may see it; `shown` receives the values (for the recording). */
  textRow(payload: Buffer, masker: Masker | undefined): { payload: Buffer; shown: (Buffer | null)[] } {
    const values = parseTextRow(payload, this.plans.length);
    if (!this.masks || !masker) return { payload, shown: values };
    let changed = false;
    const out = values.map((v, i) => {
      if (v === null) return null;
      const masked = applyPlan(this.plans[i]!, v.toString('utf8'), masker);
      if (masked === undefined) return v;
      changed = true;
      return masked === null ? null : Buffer.from(masked, 'utf8');
    });
    return changed ? { payload: encodeTextRow(out), shown: out } : { payload, shown: values };
  }

  /** A binary-protocol row (prepared statements) as the client may see it. */
  binaryRow(payload: Buffer, masker: Masker | undefined, original: readonly ColumnDefinition[]): { payload: Buffer; shown: (Buffer | null)[] } {
    const values = parseBinaryRow(payload, original.map((c) => c.type));
    const texts = values.map((v, i) => (v === null ? null : Buffer.from(binaryValueText(v, original[i]!.type, original[i]!.flags), 'utf8')));
    if (!this.masks || !masker) return { payload, shown: texts };
    let changed = false;
    const out = values.map((v, i) => {
      if (v === null) return null;
      const plan = this.plans[i]!;
      const masked = applyPlan(plan, texts[i]!.toString('utf8'), masker);
      if (masked === undefined) return plan.kind === 'style' && !TEXT_TYPES.has(original[i]!.type) ? binaryString(texts[i]!.toString('utf8')) : v;
      changed = true;
      texts[i] = masked === null ? null : Buffer.from(masked, 'utf8');
      return masked === null ? null : binaryString(masked);
    });
    return changed || this.plans.some((p, i) => p.kind === 'style' && !TEXT_TYPES.has(original[i]!.type))
      ? { payload: encodeBinaryRow(out), shown: texts }
      : { payload, shown: texts };
  }
}

/** A statement's styles for values it computes from masked columns (see StatementVerdict). */
export interface DerivedStyles {
  readonly derivedStyle?: MaskStyle;
  readonly entityDerivedStyle?: MaskStyle;
}

/** Column types of scalars (numbers, times, years) that the entity-derived style leaves to the number checks. */
const SCALAR_TYPES: ReadonlySet<number> = new Set([...NUMBER_KINDS.keys(), TYPE.DATE, TYPE.NEWDATE, TYPE.TIME, TYPE.TIME2, TYPE.DATETIME, TYPE.DATETIME2, TYPE.TIMESTAMP, TYPE.TIMESTAMP2, TYPE.NULL]);

/** The style an expression column of this type takes: a column rule's for any type, an entity's for non-scalars. */
function derivedStyleFor(c: ColumnDefinition, derived: DerivedStyles): MaskStyle | undefined {
  const entity = SCALAR_TYPES.has(c.type) ? undefined : derived.entityDerivedStyle;
  return strongestStyle([derived.derivedStyle, entity].filter((x): x is MaskStyle => x !== undefined));
}

function planFor(
  c: ColumnDefinition, masker: Masker | undefined, derivedStyle: MaskStyle | undefined, referencedColumns: readonly string[], tablesRead: ReadonlySet<string>, viewSources: ViewSources | undefined,
): ColumnPlan {
  if (!masker) return { kind: 'keep' };
  const fromTableRead = c.orgTable !== '' && tablesRead.has(c.orgTable.toLowerCase());
  const source = c.orgTable && c.orgName && fromTableRead ? { table: c.schema ? `${c.schema}.${c.orgTable}` : c.orgTable, column: c.orgName } : undefined;
  const view = !source && c.orgName ? viewOfColumn(c, viewSources) : undefined;
  const followed = view ? followViewColumn(viewSources!.views, view, c.orgName) : undefined;
  if (followed) return viewColumnPlan(c, masker, followed, view!, viewSources!);
  if (source) {
    const style = masker.columnStyle(source) ?? masker.columnStyle({ table: c.orgTable, column: c.orgName });
    if (style !== undefined) return { kind: 'style', style };
  } else if (derivedStyle !== undefined) {
    return { kind: 'style', style: derivedStyle };
  }
  if (!masker.scansEntities) return { kind: 'keep' };
  // As for Postgres: a stored column by its own names, an expression also by the columns the statement reads.
  const hints = hintsFromNames(source ? [c.name, c.orgName] : [c.name, ...referencedColumns]);
  const numberKind = NUMBER_KINDS.get(c.type);
  if (numberKind !== undefined) return { kind: 'number', numberKind, hints };
  return { kind: 'scan', computed: source === undefined, hints };
}

/** The view a result column comes from, when the name the server gives its source is bound to that view alone, in its schema. */
function viewOfColumn(c: ColumnDefinition, viewSources: ViewSources | undefined): string | undefined {
  const bound = viewSources?.relations.get(c.orgTable.toLowerCase());
  if (!bound) return undefined;
  const view = viewNamed(viewSources!.views, bound);
  return view?.schema !== undefined && view.schema === c.schema.toLowerCase() ? bound : undefined;
}

/**
 * A column of a view a statement reads, followed to where it comes from: a base column as it is
 * is masked like that column (and by a rule naming the view's column itself); a computed one like an
 * expression over the columns it is computed from.
 */
function viewColumnPlan(c: ColumnDefinition, masker: Masker, followed: FollowedColumn, view: string, viewSources: ViewSources): ColumnPlan {
  const behind = viewNamed(viewSources.views, view)?.tables ?? [];
  // A rule may name the view's column itself (by the view's name; the alias too, which only adds masking).
  const styles = [masker.columnStyle({ table: view, column: c.orgName }), masker.columnStyle({ table: c.orgTable, column: c.orgName })];
  for (const reference of followed.references) {
    const dot = reference.lastIndexOf('.');
    // A bare name (a derived table's column) may be any column of the tables behind the view.
    const tables = dot > 0 ? [reference.slice(0, dot)] : behind;
    for (const table of tables) styles.push(masker.columnStyle({ table, column: reference.slice(dot + 1) }));
  }
  const ruled = strongestStyle(styles.filter((s): s is MaskStyle => s !== undefined));
  // A computed view column is a derived value: masked whole (see derivedValueStyle).
  const style = followed.column === undefined ? derivedValueStyle(ruled) : ruled;
  if (style !== undefined) return { kind: 'style', style };
  if (!masker.scansEntities) return { kind: 'keep' };
  const names = followed.references.map((r) => r.slice(r.lastIndexOf('.') + 1));
  const hints = hintsFromNames([c.name, c.orgName, ...names]);
  const numberKind = NUMBER_KINDS.get(c.type);
  if (numberKind !== undefined) return { kind: 'number', numberKind, hints };
  return { kind: 'scan', computed: followed.column === undefined, hints };
}

/** The masked text, null for SQL NULL, or undefined when the value stays as it is. */
function applyPlan(plan: ColumnPlan, text: string, masker: Masker): string | null | undefined {
  switch (plan.kind) {
    case 'keep':
      return undefined;
    case 'style':
      return masker.maskWithStyle(text, plan.style);
    case 'message': {
      const masked = masker.maskMessage(text, true);
      return masked === text ? undefined : masked;
    }
    case 'number':
      return masker.entityInNumber(text, plan.hints, plan.numberKind) === undefined ? undefined : null;
    case 'scan': {
      const masked = masker.maskEntities(text, plan.computed, plan.hints);
      return masked === text ? undefined : masked;
    }
  }
}

function asText(c: ColumnDefinition): ColumnDefinition {
  return { ...c, type: TYPE.VAR_STRING, charset: UTF8MB4_CHARSET, flags: 0, decimals: 0x1f, length: Math.max(c.length, 256) };
}
