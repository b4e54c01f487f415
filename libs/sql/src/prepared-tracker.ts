import type { SqlAction, StatementClassification } from './actions.js';
import { SqlClassificationError } from './errors.js';

export interface PreparedStatementTrackerOptions {
  /** Most prepared statements tracked per session (default 10 000); past it, new ones are refused. */
  readonly maxStatements?: number;
}

/**
 * Mirrors one server session's prepared statements -- SQL `PREPARE` and protocol-level (Parse) named
 * statements share one namespace in Postgres -- so that `EXECUTE name` and Bind/Execute resolve to the
 * classification of the text that was actually prepared.
 *
 * Feed it only what the server accepted (after CommandComplete for PREPARE/DEALLOCATE, ParseComplete for
 * Parse, CloseComplete for Close): a PREPARE the server rejected must not shadow a later one.
 */
export class PreparedStatementTracker {
  private readonly statements = new Map<string, StatementClassification>();
  private readonly maxStatements: number;

  constructor(options: PreparedStatementTrackerOptions = {}) {
    this.maxStatements = options.maxStatements ?? 10_000;
  }

  get size(): number {
    return this.statements.size;
  }

  /** Records the effect of a completed SQL statement: PREPARE adds, DEALLOCATE / DISCARD ALL remove. */
  observe(statement: StatementClassification): void {
    if (statement.prepared) this.add(statement.prepared.name, statement.prepared.statement);
    if (statement.deallocate) {
      if (statement.deallocate.name === null) this.statements.clear();
      else this.statements.delete(statement.deallocate.name);
    }
  }

  /**
   * Records a protocol-level Parse. The unnamed statement ('') is replaced by every Parse, as in Postgres.
   * A Parse carries at most one statement; an empty query has none.
   */
  registerProtocolStatement(name: string, statements: readonly StatementClassification[]): void {
    if (statements.length > 1) {
      throw new SqlClassificationError('PARSE_ERROR', 'a protocol-level prepared statement cannot contain several statements');
    }
    const [statement] = statements;
    if (name === '') this.statements.delete('');
    if (statement === undefined) return;
    this.add(name, statement);
  }

  /** Protocol Close of a statement. */
  closeProtocolStatement(name: string): void {
    this.statements.delete(name);
  }

  get(name: string): StatementClassification | undefined {
    return this.statements.get(name);
  }

  /**
   * For an `EXECUTE name(args)` classification: the prepared statement's classification, with the
   * arguments' actions added. Any other classification is returned unchanged.
   * Throws UNKNOWN_PREPARED_STATEMENT for a name that is not (known to be) prepared: deny.
   */
  resolve(statement: StatementClassification): StatementClassification {
    if (!statement.execute) return statement;
    const target = this.resolveName(statement.execute.name);
    const extra = statement.execute.argumentActions;
    if (extra.every((action) => target.actions.includes(action))) return target;
    const actions = [...new Set<SqlAction>([...target.actions, ...extra])].sort();
    const readOnly = target.readOnly && actions.every((a) => a === 'sql:select' || a === 'sql:session');
    return Object.freeze({ ...target, actions: Object.freeze(actions), readOnly });
  }

  /** Classification of a named statement for protocol Bind/Execute. */
  resolveName(name: string): StatementClassification {
    const target = this.statements.get(name);
    if (target === undefined) {
      throw new SqlClassificationError('UNKNOWN_PREPARED_STATEMENT', `prepared statement "${name}" is not known`);
    }
    return target;
  }

  private add(name: string, statement: StatementClassification): void {
    // Postgres refuses to PREPARE an existing name; the first one stays in force, so it does here.
    if (this.statements.has(name)) return;
    if (this.statements.size >= this.maxStatements) {
      throw new SqlClassificationError('LIMIT_EXCEEDED', `more than ${this.maxStatements} prepared statements`);
    }
    this.statements.set(name, statement);
  }
}
