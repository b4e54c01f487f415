import type { SqlAction, StatementClassification } from '../actions.js';

/** What the walk of one statement found. Mutable while walking; turned into a classification afterwards. */
export class Collector {
  readonly actions = new Set<SqlAction>();
  readonly tablesRead = new Set<string>();
  readonly tablesWritten = new Set<string>();
  readonly functions = new Set<string>();
  /** Types not PostgreSQL's own that values are converted to (see StatementClassification.typesConverted). */
  readonly typesConverted = new Set<string>();
  /** Last name of every column reference, lower-cased; `*` for a star. */
  readonly columnNames = new Set<string>();
  /** Single-name column references: a whole-row reference when the name is a relation or alias. */
  readonly bareReferences = new Set<string>();
  /** Last names of the columns referenced inside computed select-list items (see StatementClassification.columnsComputed). */
  readonly columnsComputed = new Set<string>();
  /** Single-name references among columnsComputed: a whole row when the name is a relation or alias. */
  readonly computedBareReferences = new Set<string>();
  /** Plain columns in the select lists of subqueries, CTEs and derived tables: passed on under their output names. */
  readonly columnsPassedOn = new Set<string>();
  /** Some select-list (or RETURNING, SET) item computes its value from a column or a subquery. */
  computes = false;
  /** Last names of the column references whose values the statement stores (see StatementClassification.columnsStored). */
  readonly columnsStored = new Set<string>();
  /** Single-name references among those (whole rows when they name a relation). */
  readonly storedBareReferences = new Set<string>();
  /** Names and aliases of the relations in FROM clauses, lower-cased. */
  readonly relationNames = new Set<string>();
  locksRows = false;
  /** A function that cannot run in a read-only transaction was called (e.g. nextval). */
  writesOutsideTables = false;
  /**
   * The walk looked at a constant's value (a set_config() setting name, an EXPLAIN option, a function
   * body): the classification may differ for other constants, so it must not serve texts of the same shape.
   */
  readsConstantValues = false;
  /** For COPY ... TO: the output format. */
  copyFormat?: 'text' | 'csv' | 'binary';
  prepareName?: string;
  /** Type and body of the PREPAREd statement (for its own kind). */
  preparedNode?: { type: string; body: Record<string, unknown> };
  executeName?: string;
  deallocate?: { name: string | null };

  /** Merges what a nested classification (e.g. a LANGUAGE sql function body) does. */
  absorb(nested: StatementClassification): void {
    for (const a of nested.actions) this.actions.add(a);
    for (const t of nested.tablesRead) this.tablesRead.add(t);
    for (const t of nested.tablesWritten) this.tablesWritten.add(t);
    for (const f of nested.functions) this.functions.add(f);
    for (const t of nested.typesConverted ?? []) this.typesConverted.add(t);
    for (const c of nested.columnsReferenced) this.columnNames.add(c);
    for (const c of nested.columnsStored ?? []) this.columnsStored.add(c);
    for (const c of nested.columnsComputed ?? []) this.columnsComputed.add(c);
    if (nested.locksRows) this.locksRows = true;
    if (!nested.readOnly) this.writesOutsideTables = true;
  }
}
