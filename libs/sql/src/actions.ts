/**
 * Policy actions. These exact strings are part of the policy language: other packages depend on them.
 */
export const SQL_ACTIONS = [
  'sql:select',
  'sql:insert',
  'sql:update',
  'sql:delete',
  'sql:ddl',
  'sql:admin',
  'sql:session',
  'sql:procedural',
] as const;

export type SqlAction = (typeof SQL_ACTIONS)[number];

/** The statement's own kind (what it is), as opposed to its actions (everything it does). */
export type StatementKind =
  | 'select'
  | 'insert'
  | 'update'
  | 'delete'
  | 'merge'
  | 'copy_to'
  | 'copy_from'
  | 'ddl'
  | 'admin'
  | 'session'
  | 'procedural'
  | 'prepare'
  | 'execute'
  | 'explain'
  | 'truncate'
  | 'other';

export interface StatementClassification {
  readonly kind: StatementKind;
  /** Every action the statement needs, sorted. A policy must allow all of them. */
  readonly actions: readonly SqlAction[];
  /** Relations read, `schema.table` when qualified, bare otherwise (parser-normalised case). Sorted. */
  readonly tablesRead: readonly string[];
  /** Relations written, created, altered or dropped. Sorted. */
  readonly tablesWritten: readonly string[];
  /** Functions called, qualified as written, lower-cased. Sorted. */
  readonly functions: readonly string[];
  /**
   * Last names of the columns referenced anywhere in the statement, lower-cased, sorted; `*` for a star
   * or a whole-row reference (`row_to_json(c)`). Used to tell which masked columns an expression may
   * be derived from.
   */
  readonly columnsReferenced: readonly string[];
  /**
   * Last names of the columns referenced inside select-list (and RETURNING) items that compute their
   * value (`upper(email)`, `substr(ssn, 1, 3)`, `(SELECT email ...)`), at any level (subqueries, CTEs):
   * the result columns an expression may have reshaped. A column only passed through (`email`,
   * `c.email`) or only filtered on (`WHERE email LIKE ...`) is not one. Absent when none.
   */
  readonly columnsComputed?: readonly string[];
  /** True when the statement changes no data and no privileges (only reads and/or session settings). */
  readonly readOnly: boolean;
  /** True for SELECT ... FOR UPDATE/SHARE and friends: reads that take row locks. */
  readonly locksRows: boolean;
  /**
   * True when the statement keeps values in the session beyond its result (MySQL user variables:
   * `SELECT ... INTO @v`, `SET @v = ...`, `@v := ...`): a later statement reads them with nothing
   * telling which column they came from, so a column's masking cannot follow them.
   */
  readonly storesUserVariables?: boolean;
  /**
   * Last names of the columns whose values the statement stores in the database (`*` for a star or a
   * whole row): an INSERT's rows (`INSERT ... SELECT`, VALUES subqueries), UPDATE SET and ON CONFLICT /
   * ON DUPLICATE KEY UPDATE expressions, MERGE actions and source, CREATE TABLE AS / SELECT INTO; with
   * the CTEs of such a statement, but not the clauses that only pick rows (WHERE, HAVING, ORDER BY...).
   * Absent when none. A later read of the copy names the new column, so a column's masking cannot follow.
   */
  readonly columnsStored?: readonly string[];
  /**
   * Types that are not PostgreSQL's own which the statement converts values to (casts, typed literals,
   * column definition lists of FROM-clause functions), as the parser names them (unquoted parts
   * lower-cased, joined by `.`); `?` for one it cannot name (`%TYPE`). Converting runs the type's code (a
   * domain's CHECK, a `CREATE CAST ... WITH FUNCTION`), which the text does not show: whoever knows the
   * database decides whether that is user code (an enum's is not). Absent when none.
   */
  readonly typesConverted?: readonly string[];
  /** The statement's own slice of the submitted text. */
  readonly text: string;
  /**
   * libpg_query fingerprint: equal for the same statement shape with different constants. Computed on
   * first read (a second parse); throws SqlClassificationError then if the text cannot be fingerprinted.
   */
  readonly fingerprint: string;
  /** For `PREPARE name AS stmt`: the inner statement's classification (its actions are also the outer actions). */
  readonly prepared?: { readonly name: string; readonly statement: StatementClassification };
  /**
   * For `EXECUTE name(args)`: what must be resolved through a PreparedStatementTracker. Until it is, the
   * statement's actions hold `sql:admin` as a fail-closed placeholder, plus whatever the arguments do.
   */
  readonly execute?: { readonly name: string; readonly argumentActions: readonly SqlAction[] };
  /**
   * For `DECLARE name CURSOR FOR query` (`declare`: the statement's tables and columns are the query's)
   * and `FETCH` / `MOVE` from a cursor (`fetch`: the rows are the declared query's, which the FETCH
   * text does not show; resolve it through the DECLARE, or deny). `hold`: declared WITH HOLD, the
   * cursor outlives its transaction.
   */
  readonly cursor?: { readonly name: string; readonly use: 'declare' | 'fetch'; readonly hold?: boolean };
  /**
   * For `CLOSE name` (`null`: `CLOSE ALL`; also set by `DISCARD ALL`, which closes every cursor): once
   * the server confirms it, what the cursor was declared with may be forgotten.
   */
  readonly closeCursor?: { readonly name: string | null };
  /** For `DEALLOCATE name` (`null` = ALL, also set by `DISCARD ALL`). */
  readonly deallocate?: { readonly name: string | null };
  /**
   * For `COPY ... TO`: the output's format (`binary` also for a format the server does not know).
   * Binary output cannot be masked: with masking active such a statement is refused.
   */
  readonly copyFormat?: 'text' | 'csv' | 'binary';
}
