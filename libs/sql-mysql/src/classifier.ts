import { createHash } from 'node:crypto';
import mariadbGrammar from 'node-sql-parser/build/mariadb.js';
import { SqlClassificationError, type SqlAction, type StatementClassification, type StatementKind } from '@gw/sql';
import { computedColumns, cteNames, storedColumns, str, targetTables, walkAst, walkTargetList, walkWithClause, type AstFacts } from './ast-walk.js';
import { ADMIN, ADMIN_FUNCTIONS, ADMIN_LEADERS, ADMIN_VARIABLES, CATALOG_READ, CATALOG_SHOWS, SESSION, type FamilyRule } from './families.js';
import { lexStatements, type LexedStatement, type LexOptions } from './lexer.js';

/** A MySQL statement's classification: the shared shape, plus what only MySQL has. */
export interface MysqlStatementClassification extends StatementClassification {
  /** `KILL [QUERY|CONNECTION] n`: the agent resolves the gateway's connection id itself. */
  readonly kill?: { readonly query: boolean; readonly connectionId: number };
  /** `LOAD DATA LOCAL` / `LOAD XML LOCAL`: the client would send one of its own files. */
  readonly localInfile?: boolean;
  /**
   * Every name the statement gives a relation (a table or view by its name or alias, anywhere in the
   * statement) with the table or view it names, or null when the name is a derived table's or a CTE's or
   * names more than one thing. The server names a view's (or a derived table's) alias as the source of
   * its columns: only a name bound to one view alone says which view a column comes from.
   */
  readonly relations?: ReadonlyMap<string, string | null>;
}

export interface MysqlClassifierOptions {
  /** Longest text accepted (default 1 MiB of UTF-16 code units); longer is refused, not truncated. */
  readonly maxTextLength?: number;
  /** Most statements in one text (default 1000). */
  readonly maxStatements?: number;
  /** Classifications kept by statement shape (default 5000). */
  readonly cacheSize?: number;
}

type Ast = Record<string, unknown>;
const { Parser } = mariadbGrammar as unknown as { Parser: new () => { astify(sql: string, opt?: object): Ast | Ast[] } };

/**
 * Table options that put a table's storage outside the database: another server (FEDERATED, CONNECT,
 * SPIDER engines, a CONNECTION string), or a directory of the server's file system (DATA / INDEX DIRECTORY).
 */
const OUTSIDE_STORAGE = /\bENGINE\s*=?\s*['"`]?(?:FEDERATED|FEDERATEDX|CONNECT|SPIDER)\b|\bCONNECTION\s*=?\s*['"]|\b(?:DATA|INDEX)\s+DIRECTORY\b/i;

/** Schemas whose tables are the server's own secrets or internals (password hashes, other sessions' statements). */
const SYSTEM_SCHEMAS = new Set(['mysql', 'performance_schema', 'sys']);

/**
 * information_schema tables that show what the admin SHOW forms show: other sessions' statements (PROCESSLIST,
 * INNODB_TRX, ROCKSDB_TRX, QUERY_CACHE_INFO), engine internals and index contents (INNODB_*: INNODB_FT_INDEX_TABLE lists the
 * words of a table's full-text index; XTRADB_*, ROCKSDB_*, TOKUDB_*), per-user and per-table statistics, the thread pool,
 * locks, the server's disks.
 */
const ADMIN_INFORMATION_SCHEMA = /^information_schema\.(?:processlist|innodb_\w+|xtradb_\w+|rocksdb_\w+|tokudb_\w+|\w+_statistics|thread_pool_\w+|query_response_time\w*|query_cache_info|metadata_lock_info|wsrep_\w+|disks)$/;

/** Texts up to this length are kept whole (the text cache holds at most cacheSize of them). */
const MAX_CACHED_TEXT = 2048;
/**
 * MariaDB's `SET STATEMENT <var> = <value>, ... FOR <statement>`, read only when every variable is a numeric limit
 * on that one statement (Connector/J's setQueryTimeout sends `max_statement_time`). Any other variable (sql_mode, a
 * character set, foreign_key_checks ...) could change how the statement is read or what it may do: not read, denied.
 */
const STATEMENT_LIMIT = String.raw`(?:max_statement_time|lock_wait_timeout|innodb_lock_wait_timeout)\s*=\s*\d+(?:\.\d+)?`;
const SET_STATEMENT_LIMITS = new RegExp(String.raw`^\s*SET\s+STATEMENT\s+${STATEMENT_LIMIT}(?:\s*,\s*${STATEMENT_LIMIT})*\s+FOR\s+`, 'i');

/** `COMMIT` / `ROLLBACK` with their optional words, nothing else (read by words: the parser knows only the bare forms). */
const TRANSACTION_END = /^\s*(?:COMMIT|ROLLBACK)(?:\s+WORK)?(?:\s+AND(?:\s+NO)?\s+CHAIN)?(?:\s+(?:NO\s+)?RELEASE)?\s*$/i;
const TRANSACTION_MODE = String.raw`(?:WITH\s+CONSISTENT\s+SNAPSHOT|READ\s+ONLY|READ\s+WRITE)`;
const TRANSACTION_START = new RegExp(String.raw`^\s*START\s+TRANSACTION\s+${TRANSACTION_MODE}(?:\s*,\s*${TRANSACTION_MODE})*\s*$`, 'i');

/** How the text is read (backslash escapes or not) is part of what it means. */
const textKey = (text: string, options: LexOptions): string => `${options.backslashEscapes ? 'b' : 'n'}${text}`;

/**
 * PREPARE ... FROM 'text' and EXECUTE IMMEDIATE 'text' depend on their string, KILL on its number, a
 * character set change on its (possibly quoted) name, a sql_mode change on its modes: never shared by shape
 * (nor kept by text).
 */
function isShareable(s: LexedStatement): boolean {
  return s.words[0] !== 'PREPARE' && s.words[0] !== 'KILL' && s.words[0] !== 'EXECUTE' && !changesCharset(s.words) && !s.words.some((w) => w.replace(/^@@/, '') === 'SQL_MODE');
}

const sortedActions = (actions: Iterable<SqlAction>): SqlAction[] => [...new Set(actions)].sort();
const fingerprint = (shape: string): string => createHash('sha256').update(shape).digest('hex').slice(0, 16);

/**
 * Classifies MySQL / MariaDB text: the statements are cut the way the server cuts them (lexer.ts),
 * executable comments count as code, each statement is parsed with node-sql-parser's MariaDB grammar
 * (families it does not know are recognized by their leading words, families.ts), and what neither
 * understands throws SqlClassificationError: the caller denies it.
 */
export class MysqlClassifier {
  private readonly parser = new Parser();
  private readonly shapes = new Map<string, MysqlStatementClassification>();
  /**
   * Whole texts seen before (a pool's or an ORM's same queries), classified without lexing them
   * again: cutting a text the server's way is the costliest part of a shape-cache hit.
   */
  private readonly texts = new Map<string, readonly MysqlStatementClassification[]>();
  private readonly maxTextLength: number;
  private readonly maxStatements: number;
  private readonly cacheSize: number;

  constructor(options: MysqlClassifierOptions = {}) {
    this.maxTextLength = options.maxTextLength ?? 1024 * 1024;
    this.maxStatements = options.maxStatements ?? 1000;
    this.cacheSize = options.cacheSize ?? 5000;
  }

  classify(text: string, options: LexOptions = { backslashEscapes: true }): MysqlStatementClassification[] {
    if (text.length > this.maxTextLength) throw new SqlClassificationError('LIMIT_EXCEEDED', `statement text of ${text.length} characters exceeds ${this.maxTextLength}`);
    const known = text.length <= MAX_CACHED_TEXT ? this.texts.get(textKey(text, options)) : undefined;
    if (known) return known.map((c) => ({ ...c }));
    const statements = lexStatements(text, options);
    if (statements.length === 0) throw new SqlClassificationError('PARSE_ERROR', 'empty statement');
    if (statements.length > this.maxStatements) throw new SqlClassificationError('LIMIT_EXCEEDED', `more than ${this.maxStatements} statements`);
    // The server reads a multi-statement text one statement at a time, each with the settings the ones before
    // it left, while the classifier read it all up front: after `SET sql_mode = 'NO_BACKSLASH_ESCAPES';` the
    // string in `SELECT 'a\'; DROP TABLE t; -- '` ends earlier for the server. Such a change must come last.
    if (statements.slice(0, -1).some(changesReading)) {
      throw new SqlClassificationError('PARSE_ERROR', 'a statement that changes sql_mode or the character set must be sent last (or alone)');
    }
    const classified = statements.map((s) => this.classifyOne(s, options));
    if (text.length <= MAX_CACHED_TEXT && statements.every(isShareable)) {
      if (this.texts.size >= this.cacheSize) this.texts.delete(this.texts.keys().next().value!);
      this.texts.set(textKey(text, options), classified.map((c) => Object.freeze({ ...c })));
    }
    return classified;
  }

  private classifyOne(s: LexedStatement, options: LexOptions): MysqlStatementClassification {
    const cacheable = isShareable(s);
    const key = `${options.backslashEscapes ? 'b' : 'n'}${s.shape}`;
    const cached = cacheable ? this.shapes.get(key) : undefined;
    if (cached) return { ...cached, text: s.text };
    const classified = Object.freeze(this.build(s, options));
    if (cacheable) {
      if (this.shapes.size >= this.cacheSize) this.shapes.delete(this.shapes.keys().next().value!);
      this.shapes.set(key, classified);
    }
    return classified;
  }

  private build(s: LexedStatement, options: LexOptions): MysqlStatementClassification {
    const w = s.words;
    const first = w[0] ?? '';
    const base = { text: s.text, fingerprint: fingerprint(s.shape) };
    const family = (rule: FamilyRule, tables: string[] = [], extra: Partial<MysqlStatementClassification> = {}): MysqlStatementClassification => ({
      ...base, kind: rule.kind, actions: sortedActions(rule.actions), tablesRead: rule.kind === 'ddl' ? [] : tables.sort(), tablesWritten: rule.kind === 'ddl' ? tables.sort() : [],
      functions: [], columnsReferenced: [], readOnly: rule.readOnly, locksRows: false, ...extra,
    });
    if (ADMIN_LEADERS.has(first)) return family(ADMIN);
    switch (first) {
      case 'SHOW': {
        // `SHOW TABLES WHERE <expr>`: the server evaluates any expression there (subqueries, functions, `@v :=`).
        const where = keywordOutsideQuotes(s.code, 'WHERE');
        const shown = this.show(w, where < 0 ? s.code : s.code.slice(0, where), family);
        return where < 0 ? shown : this.withExpressions(shown, `SELECT 1 ${s.code.slice(where)}`, s, base);
      }
      case 'KILL': {
        // The agent kills the connection itself: only the forms whose target it reads exactly (not `KILL 0x10`,
        // `KILL 1+2`, MariaDB's `KILL QUERY ID 5`, which names a query, or `KILL USER u`).
        const id = /^\s*KILL\s+(?:(?:HARD|SOFT)\s+)?(QUERY\s+|CONNECTION\s+)?(\d+)\s*$/i.exec(s.code);
        if (!id) throw new SqlClassificationError('PARSE_ERROR', 'KILL needs a connection id');
        return family(ADMIN, [], { kill: { query: /^QUERY/i.test(id[1] ?? ''), connectionId: Number(id[2]) } });
      }
      case 'HANDLER':
        return this.handler(s, base, family);
      case 'ROLLBACK':
        // `ROLLBACK [WORK] TO [SAVEPOINT] name` (JDBC's rollback(Savepoint)); the parser reads only a plain ROLLBACK.
        if (w[1] === 'TO' || (w[1] === 'WORK' && w[2] === 'TO')) {
          const { rest } = nameAfter(s.code, /^\s*ROLLBACK\s+(?:WORK\s+)?TO\s+(?:SAVEPOINT\s+)?/i);
          if (rest !== '') throw new SqlClassificationError('PARSE_ERROR', 'unexpected text after the savepoint name');
          return family(SESSION);
        }
        if (TRANSACTION_END.test(s.code)) return family(SESSION);
        break;
      case 'COMMIT':
        // `COMMIT [WORK] [AND [NO] CHAIN] [[NO] RELEASE]`: the parser reads only a plain COMMIT.
        if (TRANSACTION_END.test(s.code)) return family(SESSION);
        break;
      case 'START':
        // `START TRANSACTION WITH CONSISTENT SNAPSHOT` (mysqldump --single-transaction), alone or with READ ONLY/WRITE.
        if (TRANSACTION_START.test(s.code)) return family(SESSION);
        break;
      case 'SAVEPOINT':
      case 'RELEASE': {
        // Read by its words: nothing but the name may follow (what the server reads as more of the name is not seen here).
        const { rest } = nameAfter(s.code, first === 'SAVEPOINT' ? /^\s*SAVEPOINT\s+/i : /^\s*RELEASE\s+SAVEPOINT\s+/i);
        if (rest !== '') throw new SqlClassificationError('PARSE_ERROR', 'unexpected text after the savepoint name');
        return family(SESSION);
      }
      case 'PREPARE':
        return this.prepare(s, options, family);
      case 'EXECUTE':
        return this.execute(s, options, family, base);
      case 'DEALLOCATE':
        return { ...family(SESSION), deallocate: { name: preparedName(s.code, /^\s*DEALLOCATE\s+PREPARE\s+/i) } };
      case 'DO':
        return this.parsed({ ...s, code: `SELECT ${s.code.replace(/^\s*DO\b/i, '')}` }, base);
      case 'BEGIN':
        if (w[1] === 'NOT') return family({ kind: 'procedural', actions: ['sql:procedural', 'sql:admin'], readOnly: false });
        break;
      case 'SET': {
        if (w[1] === 'STATEMENT') return this.setStatement(s, options, base);
        // A character set in which the server reads later text differently from the classifier is admin.
        if (changesCharset(w) && !readsLikeUtf8(s.code)) return family(ADMIN);
        if (w[1] === 'ROLE' || w[1] === 'DEFAULT' || w[1] === 'PASSWORD' || w.some((x) => x === 'GLOBAL' || x === '@@GLOBAL' || x.startsWith('PERSIST') || x === '@@PERSIST')) return family(ADMIN);
        // Only the whole statement: `SET NAMES utf8mb4, @x = (SELECT ...)` is a list whose other items the parser must see.
        if (charsetStatement(s.code) !== undefined) return family(SESSION);
        if (w[1] === 'TRANSACTION' || ((w[1] === 'SESSION' || w[1] === 'LOCAL') && w[2] === 'TRANSACTION')) return family(SESSION);
        if (w.some((x) => ADMIN_VARIABLES.has(x.replace(/^@@/, '')))) return family(ADMIN);
        if (w.some((x) => x.replace(/^@@/, '') === 'SQL_MODE') && !keepsGrammar(s.code)) return family(ADMIN);
        break;
      }
      case 'LOAD':
        return family({ kind: 'copy_from', actions: ['sql:admin', 'sql:insert'], readOnly: false }, tableAfter(s.code, /\bINTO\s+TABLE\s+/i), { localInfile: w.includes('LOCAL') });
      case 'CREATE':
      case 'ALTER':
      case 'DROP': {
        const object = w.find((x) => ['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT', 'USER', 'ROLE', 'PREPARE', 'SERVER', 'TABLESPACE', 'LOGFILE'].includes(x));
        if (first === 'DROP' && w[1] === 'PREPARE') return { ...family(SESSION), deallocate: { name: preparedName(s.code, /^\s*DROP\s+PREPARE\s+/i) } };
        if (object === 'USER' || object === 'ROLE' || object === 'SERVER' || object === 'TABLESPACE' || object === 'LOGFILE') return family(ADMIN);
        if (object !== undefined && w.indexOf(object) <= 6) {
          // DEFINER runs the code as another account; SONAME loads a shared library into the server (a UDF).
          const definer = w.includes('DEFINER') || w.includes('SONAME');
          return family({ kind: 'ddl', actions: definer ? ['sql:ddl', 'sql:procedural', 'sql:admin'] : ['sql:ddl', 'sql:procedural'], readOnly: false });
        }
        break;
      }
      case 'RENAME':
        if (w[1] === 'USER') return family(ADMIN);
        break;
      case 'GRANT':
      case 'REVOKE':
        return family(ADMIN);
      case 'TABLE':
        return this.parsed({ ...s, code: `SELECT * FROM ${s.code.replace(/^\s*TABLE\b/i, '')}` }, base);
      case 'DELETE':
        // MariaDB's `DELETE HISTORY FROM t [BEFORE SYSTEM_TIME [TIMESTAMP|TRANSACTION] expr]` deletes t's history rows: the
        // parser takes `history` for the target and t for a read. Read as a DELETE of t whose condition is the expression.
        if (w[1] === 'HISTORY') {
          const code = s.code.replace(/^(\s*DELETE)\s+HISTORY\b/i, '$1').replace(/\bBEFORE\s+SYSTEM_TIME\s+(?:(?:TIMESTAMP|TRANSACTION)\s+)?/i, 'WHERE ');
          return this.parsed({ ...s, code }, base);
        }
        return this.parsed({ ...s, code: withoutModifiers(s.code) }, base);
      case 'UPDATE':
        return this.parsed({ ...s, code: withoutModifiers(s.code) }, base);
      default:
        break;
    }
    return this.parsed(s, base);
  }

  private show(w: readonly string[], code: string, family: (rule: FamilyRule, tables?: string[]) => MysqlStatementClassification): MysqlStatementClassification {
    const rest = w.slice(1).filter((x) => x !== 'FULL' && x !== 'EXTENDED' && x !== 'GLOBAL' && x !== 'SESSION');
    const what = rest[0] ?? '';
    if (!CATALOG_SHOWS.has(what)) return family(ADMIN);
    if (what === 'CREATE' && rest[1] === 'USER') return family(ADMIN);
    if (what === 'GRANTS' && rest.includes('FOR')) return family(ADMIN);
    // Names read from the text, not the words (which leave out `quoted` names and split `db.t`).
    let table: string | undefined;
    if (['COLUMNS', 'FIELDS', 'INDEX', 'INDEXES', 'KEYS'].includes(what)) {
      // SHOW COLUMNS FROM t [FROM db]
      const from = /^\s*SHOW\b.*?\b(?:FROM|IN)\s+/is;
      if (from.test(code)) {
        const { name, rest: after } = nameAfter(code, from);
        table = /^(?:FROM|IN)\s/i.test(after) ? `${nameAfter(after, /^(?:FROM|IN)\s+/i).name}.${name}` : name;
      }
    }
    if (what === 'CREATE' && (rest[1] === 'TABLE' || rest[1] === 'VIEW')) table = nameAfter(code, /^\s*SHOW\s+CREATE\s+(?:TABLE|VIEW)\s+/i).name;
    return family(CATALOG_READ, table ? [table] : []);
  }

  /**
   * `HANDLER t OPEN`, `HANDLER t CLOSE`, `HANDLER t READ [idx] FIRST|NEXT|PREV|LAST [WHERE ...] [LIMIT ...]`,
   * `HANDLER t READ idx op (values) [WHERE ...] [LIMIT ...]`: the values and the WHERE condition are expressions the
   * server evaluates (built-in functions such as LOAD_FILE or GET_LOCK, `@v := col`), classified here as a SELECT of
   * them. Any other shape is refused.
   */
  private handler(s: LexedStatement, base: { text: string; fingerprint: string }, family: (rule: FamilyRule, tables?: string[]) => MysqlStatementClassification): MysqlStatementClassification {
    const { name, rest } = nameAfter(s.code, /^\s*HANDLER\s+/i);
    const opened = family(CATALOG_READ, [name]);
    // No `OPEN AS alias`: `HANDLER a READ` would then name no table, and the rows' columns (their source the table)
    // would not be matched to the tables the statement reads, so column masking rules would miss them.
    if (/^(?:OPEN|CLOSE)$/i.test(rest)) return opened;
    if (/^OPEN\b/i.test(rest)) throw new SqlClassificationError('PARSE_ERROR', 'HANDLER ... OPEN under an alias is not supported through the gateway; open the table by its name');
    const ident = '(?:`(?:[^`]|``)+`|[\\w$]+)';
    const scan = new RegExp(`^READ\\s+(?:${ident}\\s+)?(?:FIRST|NEXT|PREV|LAST)\\b(.*)$`, 'is').exec(rest);
    const keyed = new RegExp(`^READ\\s+${ident}\\s*(?:<=|>=|=|<|>)(.*)$`, 'is').exec(rest);
    if (scan) return scan[1]!.trim() === '' ? opened : this.withExpressions(opened, `SELECT 1 ${scan[1]!}`, s, base);
    if (keyed) return this.withExpressions(opened, `SELECT ${keyed[1]!}`, s, base);
    throw new SqlClassificationError('PARSE_ERROR', 'the MySQL classifier cannot read this HANDLER statement');
  }

  /**
   * A statement family read by its words whose clauses hold expressions the server evaluates: the expressions are
   * classified as the SELECT `select` (parsed like any statement, or refused) and what they do is added.
   */
  /** `SET STATEMENT <limits> FOR <statement>`: decided as the statement it runs (see SET_STATEMENT_LIMITS). */
  private setStatement(s: LexedStatement, options: LexOptions, base: { text: string; fingerprint: string }): MysqlStatementClassification {
    const limits = SET_STATEMENT_LIMITS.exec(s.code);
    if (!limits) throw new SqlClassificationError('PARSE_ERROR', 'SET STATEMENT ... FOR is read only with numeric max_statement_time, lock_wait_timeout or innodb_lock_wait_timeout');
    const inner = lexStatements(s.code.slice(limits[0].length), options);
    if (inner.length !== 1) throw new SqlClassificationError('PARSE_ERROR', 'SET STATEMENT ... FOR must be followed by one statement');
    const statement = this.build(inner[0]!, options);
    // What the session core acts on by itself (a kill, a named prepared statement, a client file) must come alone.
    if (inner[0]!.words[0] === 'SET' || statement.kill || statement.execute || statement.prepared || statement.deallocate || statement.localInfile) {
      throw new SqlClassificationError('PARSE_ERROR', 'this statement cannot follow SET STATEMENT ... FOR');
    }
    return { ...statement, ...base };
  }

  private withExpressions(outer: MysqlStatementClassification, select: string, s: LexedStatement, base: { text: string; fingerprint: string }): MysqlStatementClassification {
    const inner = this.parsed({ ...s, code: select }, base);
    if (inner.kind !== 'select') throw new SqlClassificationError('PARSE_ERROR', 'unexpected clause in the statement');
    const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])].sort();
    const stores = outer.storesUserVariables || inner.storesUserVariables;
    const columnsStored = union(outer.columnsStored ?? [], inner.columnsStored ?? []);
    const columnsComputed = union(outer.columnsComputed ?? [], inner.columnsComputed ?? []);
    return {
      ...outer,
      actions: sortedActions([...outer.actions, ...inner.actions]),
      tablesRead: union(outer.tablesRead, inner.tablesRead),
      tablesWritten: union(outer.tablesWritten, inner.tablesWritten),
      functions: union(outer.functions, inner.functions),
      columnsReferenced: union(outer.columnsReferenced, inner.columnsReferenced),
      readOnly: outer.readOnly && inner.readOnly,
      locksRows: outer.locksRows || inner.locksRows,
      ...(stores ? { storesUserVariables: true } : {}),
      ...(columnsStored.length > 0 ? { columnsStored } : {}),
      ...(columnsComputed.length > 0 ? { columnsComputed } : {}),
    };
  }

  private prepare(s: LexedStatement, options: LexOptions, family: (rule: FamilyRule, tables?: string[], extra?: Partial<MysqlStatementClassification>) => MysqlStatementClassification): MysqlStatementClassification {
    const m = /^PREPARE\s+(`[^`]+`|\w+)\s+FROM\s+('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")\s*$/is.exec(s.code);
    if (!m) {
      // PREPARE ... FROM @var: the text is not in the statement; nothing can inspect it here.
      return family({ kind: 'prepare', actions: ['sql:admin'], readOnly: false });
    }
    const name = m[1]!.replace(/^`|`$/g, '').toLowerCase();
    const inner = unquote(m[2]!, options.backslashEscapes);
    const statements = this.classify(inner, options);
    if (statements.length !== 1) throw new SqlClassificationError('PARSE_ERROR', 'a prepared statement holds exactly one statement');
    const statement = statements[0]!;
    return { ...statement, text: s.text, kind: 'prepare', fingerprint: fingerprint(s.shape + inner), prepared: { name, statement } };
  }

  /**
   * `EXECUTE name [USING ...]` runs a statement prepared earlier, which the agent resolves by name. MariaDB's
   * `EXECUTE IMMEDIATE 'text'` runs the text itself: it must never be resolved as a statement named
   * `immediate` (which `PREPARE immediate FROM 'SELECT 1'` may have defined), but classified like the text.
   */
  private execute(s: LexedStatement, options: LexOptions, family: (rule: FamilyRule) => MysqlStatementClassification, base: { text: string; fingerprint: string }): MysqlStatementClassification {
    const immediate = /^\s*EXECUTE\s+IMMEDIATE\b\s*(.*)$/is.exec(s.code);
    if (immediate && immediate[1] !== '' && !/^USING\b/i.test(immediate[1]!)) {
      const literal = /^('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")\s*(?:USING\b(.*))?$/is.exec(immediate[1]!);
      // Any other expression (a variable, CONCAT(...)) is text the classifier cannot see.
      if (!literal) return { ...family(ADMIN), kind: 'execute' };
      const statements = this.classify(unquote(literal[1]!, options.backslashEscapes), options);
      if (statements.length !== 1) throw new SqlClassificationError('PARSE_ERROR', 'EXECUTE IMMEDIATE runs exactly one statement');
      const statement = statements[0]!;
      if (statement.execute || statement.prepared || statement.kill || statement.deallocate) {
        throw new SqlClassificationError('PARSE_ERROR', 'EXECUTE IMMEDIATE of a prepared-statement command');
      }
      const executed: MysqlStatementClassification = { ...statement, text: s.text, kind: 'execute', fingerprint: fingerprint(s.shape + literal[1]) };
      // The USING arguments are expressions the server evaluates (LOAD_FILE('/etc/passwd'), GET_LOCK(...), @v := ...).
      return literal[2] === undefined ? executed : this.withExpressions(executed, `SELECT ${literal[2]}`, s, base);
    }
    const { name, rest } = nameAfter(s.code, /^\s*EXECUTE\s+/i);
    // Anything between the name and USING (`EXECUTE /*!99999 x *\/ s`) could make the server run another name.
    if (rest !== '' && !/^USING\b/i.test(rest)) throw new SqlClassificationError('PARSE_ERROR', 'EXECUTE takes a statement name and USING only');
    if (rest !== '') {
      // The statement is resolved to the one prepared under the name, which knows nothing of the arguments: they may only
      // be values (literals, user variables, operators on them), not calls (`USING LOAD_FILE('/etc/passwd')` reads a
      // server file) nor assignments.
      const args = this.parsed({ ...s, code: `SELECT ${rest.replace(/^USING\b/i, '')}` }, base);
      if (args.kind !== 'select' || args.functions.length > 0 || args.tablesRead.length > 0 || args.tablesWritten.length > 0 || args.storesUserVariables || args.actions.some((a) => a !== 'sql:select')) {
        throw new SqlClassificationError('PARSE_ERROR', 'EXECUTE ... USING takes values and user variables only');
      }
    }
    return { ...family(ADMIN), kind: 'execute', execute: { name, argumentActions: [] } };
  }

  private parsed(s: LexedStatement, base: { text: string; fingerprint: string }): MysqlStatementClassification {
    let tree: Ast | Ast[];
    try {
      tree = this.parser.astify(s.code, { database: 'MariaDB' });
    } catch (error) {
      // Read again with the short conversion types only when the text as sent does not parse: what parses today is read as it was.
      const short = withShortSignedTypes(s.code);
      try {
        if (short === s.code) throw error;
        tree = this.parser.astify(short, { database: 'MariaDB' });
      } catch {
        throw new SqlClassificationError('PARSE_ERROR', `the MySQL parser cannot read this statement: ${String((error as Error).message ?? error).slice(0, 200)}`);
      }
    }
    const asts = Array.isArray(tree) ? tree : [tree];
    if (asts.length !== 1) throw new SqlClassificationError('PARSE_ERROR', 'the statement parsed as several');
    return this.fromAst(asts[0]!, s.words, base, s.code, s.quotedNames);
  }

  private fromAst(ast: Ast, words: readonly string[], base: { text: string; fingerprint: string }, code: string, quotedNames: readonly string[]): MysqlStatementClassification {
    const type = str(ast['type']);
    if (type === 'explain' && typeof ast['expr'] === 'object' && ast['expr'] !== null) {
      const inner = this.fromAst(ast['expr'] as Ast, words.slice(1), base, code, quotedNames);
      return { ...inner, kind: 'explain' };
    }
    const facts: AstFacts = { tables: new Set(), functions: new Set(), columns: new Set(), locksRows: false, writesFile: false, relations: new Map(), sequencesWritten: new Set() };
    const dml = type === 'insert' || type === 'replace' || type === 'update' || type === 'delete';
    let written = new Set<string>();
    let stored = new Set<string>();
    let computed = new Set<string>();
    try {
      const limit = { nodes: 0, max: 200_000 };
      walkAst(ast, facts, new Set(dml ? ['table', 'with'] : ['with']), limit);
      computed = computedColumns(ast, limit);
      if (dml) walkTargetList(ast, facts, limit);
      if (dml && type !== 'delete') stored = storedColumns(ast, limit);
      // The statement itself sees every CTE name; each CTE body only those defined before it.
      for (const cte of cteNames(ast)) facts.tables.delete(cte);
      walkWithClause(ast, facts, limit);
    } catch {
      throw new SqlClassificationError('LIMIT_EXCEEDED', 'statement tree too large');
    }
    // Under ANSI_QUOTES (which the session may turn on unseen) a double-quoted token is a column, not a string: the
    // stricter reading counts it as referenced, and as stored by a write (`INSERT ... SELECT CONCAT("ssn") FROM c`).
    // `SELECT BINARY ssn`, `SELECT -BINARY ssn`: the server casts the column, the parser reads a column `binary` named (aliased)
    // ssn. The word after the operator BINARY counts as a column (over-reading `CAST(x AS BINARY) AS y` as `as` is harmless).
    const operands = words.flatMap((w, i) => (w === 'BINARY' && i + 1 < words.length ? [words[i + 1]!.toLowerCase()] : []));
    for (const name of [...quotedNames, ...operands]) {
      facts.columns.add(name);
      computed.add(name);
      if (dml && type !== 'delete') stored.add(name);
    }
    if (dml) written = targetTables(ast);
    const actions = new Set<SqlAction>();
    let kind: StatementKind;
    let readOnly = false;
    let read = [...facts.tables];
    switch (type) {
      case 'select': {
        kind = 'select';
        actions.add('sql:select');
        readOnly = true;
        // Wherever the parser puts it (a UNION's last part): the words say it too, whatever the tree looks like.
        if (facts.writesFile || words.includes('OUTFILE') || words.includes('DUMPFILE')) {
          kind = 'copy_to';
          actions.add('sql:admin');
          readOnly = false;
        }
        break;
      }
      case 'insert':
      case 'replace':
        kind = 'insert';
        actions.add('sql:insert');
        if (type === 'replace' || words.includes('DUPLICATE')) actions.add('sql:update');
        break;
      case 'update':
        kind = 'update';
        actions.add('sql:update');
        break;
      case 'delete':
        kind = 'delete';
        actions.add('sql:delete');
        break;
      case 'create':
      case 'alter':
      case 'drop':
      case 'rename':
        kind = 'ddl';
        actions.add('sql:ddl');
        // CREATE TABLE ... SELECT stores what it reads (a view only names its query).
        if (type === 'create' && read.length > 0 && !isAst(ast['view'])) stored = new Set(facts.columns);
        if (type === 'create' && (read.length > 0 || isAst(ast['view']))) {
          // CREATE VIEW v AS SELECT ... / CREATE TABLE ... LIKE: the first table is the one created.
          const created = Array.isArray(ast['table']) ? (ast['table'] as Ast[]) : isAst(ast['table']) ? [ast['table']] : [];
          if (isAst(ast['view'])) created.push(ast['view']);
          written = new Set(created.map((t) => `${str(t['db']) ? `${str(t['db'])}.` : ''}${str(t['table']) || str(t['view'])}`.toLowerCase()).filter(Boolean));
          if (read.some((t) => !written.has(t))) actions.add('sql:select');
        } else {
          written = new Set(read);
        }
        if (words.includes('DATABASE') || words.includes('SCHEMA')) actions.add('sql:admin');
        // A view with DEFINER = another account runs its query with that account's privileges; a table
        // stored on another server or in a directory of the server's file system reaches outside the database.
        if (isAst(ast['definer']) || OUTSIDE_STORAGE.test(code)) actions.add('sql:admin');
        break;
      case 'truncate':
        kind = 'truncate';
        actions.add('sql:ddl');
        actions.add('sql:delete');
        written = new Set(read);
        break;
      case 'use':
      case 'set':
      case 'transaction':
        kind = 'session';
        actions.add('sql:session');
        readOnly = true;
        // `SET @@session.max_join_size = (SELECT salary ...)` keeps the value in a setting, read back with `SELECT @@max_join_size`
        // (a bare word, as in `SET default_storage_engine = InnoDB`, is a name, not a column: only a subquery reads one).
        if (type === 'set' && facts.tables.size > 0) facts.storesUserVariables = true;
        // After `USE mysql`, `SELECT * FROM user` names no schema: entering a system schema is what the
        // qualified names below would have made admin. So is entering information_schema, whose admin tables
        // (ADMIN_INFORMATION_SCHEMA) are known by their qualified names: `SELECT info FROM processlist` there.
        if (type === 'use' && (SYSTEM_SCHEMAS.has(str(ast['db']).toLowerCase()) || str(ast['db']).toLowerCase() === 'information_schema')) {
          kind = 'admin';
          actions.add('sql:admin');
        }
        break;
      case 'lock':
      case 'unlock':
        kind = 'session';
        actions.add('sql:session');
        if (read.length > 0) actions.add(words.includes('WRITE') ? 'sql:update' : 'sql:select');
        readOnly = !words.includes('WRITE');
        break;
      case 'desc':
      case 'show':
        kind = 'select';
        actions.add('sql:select');
        readOnly = true;
        if (type === 'desc' && typeof ast['table'] === 'string') read = [ast['table'].toLowerCase()];
        break;
      case 'call':
        kind = 'procedural';
        actions.add('sql:procedural');
        break;
      case 'grant':
        kind = 'admin';
        actions.add('sql:admin');
        break;
      default:
        // A statement type this classifier has no rule for: only an administrator's policy may allow it.
        kind = 'other';
        actions.add('sql:admin');
    }
    // NEXTVAL / SETVAL write the sequence (not where a table definition only names it, as a column DEFAULT).
    if (kind !== 'ddl' && facts.sequencesWritten!.size > 0) {
      actions.add('sql:update');
      readOnly = false;
      written = new Set([...written, ...facts.sequencesWritten!]);
    }
    // A named lock is held by the session past the statement (as Postgres's advisory locks).
    if (facts.advisoryLocks) {
      actions.add('sql:session');
      readOnly = false;
    }
    read = read.filter((t) => !written.has(t) || type === 'insert' || type === 'replace');
    // MariaDB's RETURNING hands the target's rows back to the client: a read of the target, as in Postgres.
    if (dml && isAst(ast['returning'])) read.push(...written);
    if (read.length > 0 && kind !== 'select' && kind !== 'ddl' && kind !== 'truncate' && kind !== 'session') actions.add('sql:select');
    if (kind === 'session' && read.length > 0 && type !== 'lock') {
      actions.add('sql:select');
    }
    if ([...facts.tables, ...written].some((t) => (SYSTEM_SCHEMAS.has(t.split('.')[0]!) && t.includes('.')) || ADMIN_INFORMATION_SCHEMA.test(t))) actions.add('sql:admin');
    if ([...facts.functions].some((f) => ADMIN_FUNCTIONS.has(f))) actions.add('sql:admin');
    const locksRows = facts.locksRows;
    return {
      ...base,
      kind,
      actions: sortedActions(actions),
      tablesRead: [...new Set(read)].sort(),
      tablesWritten: [...written].sort(),
      functions: [...facts.functions].sort(),
      columnsReferenced: [...facts.columns].sort(),
      // Row locks (FOR UPDATE, also in a subquery) block other sessions' writes: not read-only, as in Postgres.
      readOnly: readOnly && !actions.has('sql:admin') && !locksRows,
      locksRows,
      ...(facts.storesUserVariables ? { storesUserVariables: true } : {}),
      ...(stored.size > 0 ? { columnsStored: [...stored].sort() } : {}),
      ...(computed.size > 0 ? { columnsComputed: [...computed].sort() } : {}),
      ...(facts.relations && facts.relations.size > 0 ? { relations: facts.relations } : {}),
    };
  }
}

function isAst(v: unknown): v is Ast {
  return typeof v === 'object' && v !== null;
}

/**
 * The (possibly `db.`-qualified) name that follows `lead` in the statement, lower-cased, read as the server
 * reads identifiers: bare words or backquoted with doubled backquotes (`` `a``b` ``, `` `shop`.`orders` ``),
 * and what follows it. Refused when there is no name.
 */
function nameAfter(code: string, lead: RegExp): { name: string; rest: string } {
  const m = lead.exec(code);
  if (!m) throw new SqlClassificationError('PARSE_ERROR', 'statement is missing a name');
  const part = /^(?:`((?:[^`]|``)+)`|([\w$]+))/;
  const parts: string[] = [];
  let rest = code.slice(m[0].length);
  for (;;) {
    const p = part.exec(rest);
    if (!p) throw new SqlClassificationError('PARSE_ERROR', 'statement is missing a name');
    parts.push(p[1] !== undefined ? p[1].replace(/``/g, '`') : p[2]!);
    rest = rest.slice(p[0].length);
    if (!rest.startsWith('.') || parts.length === 2) break;
    rest = rest.slice(1);
  }
  return { name: parts.join('.').toLowerCase(), rest: rest.trim() };
}

/** The name of `DEALLOCATE PREPARE name` / `DROP PREPARE name`: nothing may follow it. */
function preparedName(code: string, lead: RegExp): string {
  const { name, rest } = nameAfter(code, lead);
  if (rest !== '') throw new SqlClassificationError('PARSE_ERROR', 'unexpected text after the prepared statement name');
  return name;
}

/**
 * Whether a statement may change how the server reads the text after it: a SET of sql_mode (quotes,
 * backslashes) or of a character set that reads differently, or an EXECUTE (of a prepared statement that
 * may be such a SET).
 */
function changesReading({ words, code }: LexedStatement): boolean {
  if (words[0] === 'EXECUTE') return true;
  return words[0] === 'SET' && ((changesCharset(words) && !readsLikeUtf8(code)) || words.some((w) => w.replace(/^@@/, '') === 'SQL_MODE'));
}

/** `SET NAMES x`, `SET CHARACTER SET x`, `SET character_set_client = x`: what changes how the server reads the text. */
function changesCharset(words: readonly string[]): boolean {
  return words[0] === 'SET' && (words[1] === 'NAMES' || words[1] === 'CHARSET' || (words[1] === 'CHARACTER' && words[2] === 'SET') || words.some((w) => w.replace(/^@@/, '') === 'CHARACTER_SET_CLIENT'));
}

/**
 * Character sets in which the server cuts the gateway's (UTF-8) text exactly as the classifier does: ASCII
 * quotes and backslashes are never part of another character. In GBK, Big5, SJIS, CP932 or GB18030 the
 * bytes of `中\'` end with a two-byte character whose second byte is the backslash, so the quote after it
 * ends the string the classifier thought continued (`SELECT '中\' ; DROP TABLE t; -- '`).
 */
const SAME_READING_CHARSETS: ReadonlySet<string> = new Set(['utf8', 'utf8mb3', 'utf8mb4', 'latin1', 'ascii', 'binary']);

/** The character set of a statement that is exactly `SET NAMES x [COLLATE y]` / `SET CHARACTER SET x` / `SET CHARSET x`. */
function charsetStatement(code: string): string | undefined {
  const named = /^\s*SET\s+(?:NAMES|CHARSET|CHARACTER\s+SET)\s+(['"`]?)(\w+)\1(?:\s+COLLATE\s+(['"`]?)\w+\3)?\s*$/i.exec(code);
  return named?.[2]!.toLowerCase();
}

/** Whether every character set the SET statement names keeps the classifier's reading of later text. */
function readsLikeUtf8(code: string): boolean {
  const charset = charsetStatement(code);
  if (charset !== undefined) return SAME_READING_CHARSETS.has(charset);
  // `SET NAMES x, ...` in a list: refused by the parser later if it is well-formed; the set must be safe too.
  const listed = /^\s*SET\s+(?:NAMES|CHARSET|CHARACTER\s+SET)\s+(['"`]?)(\w+)\1/i.exec(code);
  if (listed && !SAME_READING_CHARSETS.has(listed[2]!.toLowerCase())) return false;
  const assignments = [...code.matchAll(/character_set_client\s*:?=\s*(['"`]?)(\w+)\1\s*(?=,|$)/gi)];
  const mentions = code.match(/character_set_client/gi)?.length ?? 0;
  // Every mention must be a plain assignment of a same-reading set (not DEFAULT, a variable or an expression).
  return assignments.length === mentions && assignments.every((a) => SAME_READING_CHARSETS.has(a[2]!.toLowerCase()));
}

/**
 * `CONVERT(x, UNSIGNED INTEGER)` is `CONVERT(x, UNSIGNED)` to the server, but node-sql-parser reads only the short
 * form there (Connector/J's DatabaseMetaData.getColumns sends the long one). Used only for a text that does not parse
 * as sent; INT and INTEGER are reserved words, always a type, so dropping them (outside strings and quoted
 * identifiers) adds or removes no table, column or function the statement names.
 */
function withShortSignedTypes(code: string): string {
  return code.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`|\b((?:UN)?SIGNED)\s+INT(?:EGER)?\b/gis, (m, signed?: string) => signed ?? m);
}

/**
 * The parser reads `DELETE IGNORE FROM t` / `UPDATE IGNORE t` as a multi-table statement whose target is a table
 * named `ignore` (and `t` a mere read). The modifiers change neither the target nor the rows.
 */
function withoutModifiers(code: string): string {
  return code.replace(/^(\s*(?:DELETE|UPDATE))((?:\s+(?:LOW_PRIORITY|QUICK|IGNORE)\b)+)/i, '$1');
}

/** Where the keyword first appears in the statement as a word outside strings and quoted identifiers (-1: nowhere). */
function keywordOutsideQuotes(code: string, keyword: string): number {
  const token = new RegExp(`'(?:[^'\\\\]|\\\\.|'')*'|"(?:[^"\\\\]|\\\\.|"")*"|\`(?:[^\`]|\`\`)*\`|[\\w$@]+`, 'gs');
  for (const m of code.matchAll(token)) if (m[0].toUpperCase() === keyword) return m.index;
  return -1;
}

/**
 * sql_mode values after which the server reads statements as the classifier does (NO_BACKSLASH_ESCAPES is
 * followed through the server's status flag, ANSI_QUOTES by the lexer). Not MSSQL (`[x']` quotes an identifier,
 * so `SAVEPOINT [x'] ; DROP TABLE t; -- ']` hides a DROP in what the classifier reads as a string), ORACLE (another
 * grammar: `s.nextval` writes a sequence, BEGIN ... END runs a block), nor the other emulations.
 */
const GRAMMAR_KEEPING_MODES: ReadonlySet<string> = new Set([
  'REAL_AS_FLOAT', 'PIPES_AS_CONCAT', 'ANSI_QUOTES', 'IGNORE_SPACE', 'IGNORE_BAD_TABLE_OPTIONS', 'ONLY_FULL_GROUP_BY', 'NO_UNSIGNED_SUBTRACTION',
  'NO_DIR_IN_CREATE', 'NO_AUTO_VALUE_ON_ZERO', 'NO_BACKSLASH_ESCAPES', 'STRICT_TRANS_TABLES', 'STRICT_ALL_TABLES', 'NO_ZERO_IN_DATE', 'NO_ZERO_DATE',
  'ALLOW_INVALID_DATES', 'ERROR_FOR_DIVISION_BY_ZERO', 'TRADITIONAL', 'NO_AUTO_CREATE_USER', 'HIGH_NOT_PRECEDENCE', 'NO_ENGINE_SUBSTITUTION',
  'PAD_CHAR_TO_FULL_LENGTH', 'EMPTY_STRING_IS_NULL', 'SIMULTANEOUS_ASSIGNMENT', 'TIME_ROUND_FRACTIONAL', 'ANSI', 'NO_KEY_OPTIONS', 'NO_TABLE_OPTIONS',
  'NO_FIELD_OPTIONS', 'DEFAULT',
]);

/**
 * Whether every assignment of sql_mode in the SET statement is a literal list of grammar-keeping modes (or DEFAULT),
 * or adds such a list to the session's own modes: `CONCAT(@@sql_mode, ',STRICT_TRANS_TABLES')`, which MariaDB
 * Connector/J sends on every connection. That keeps the grammar the session already had, so the classifier
 * reads what follows as it read what came before. Another variable, expression or a number (a bit mask) may
 * turn on any mode: refused as admin.
 */
function keepsGrammar(code: string): boolean {
  const assignments = [...code.matchAll(
    /(?<![\w$])(?<!(?<!@)@)sql_mode`?\s*:?=(?!=)\s*('[^'\\]*'|"[^"\\]*"|[A-Za-z_]+|CONCAT\s*\(\s*@@(?:SESSION\.|LOCAL\.)?sql_mode\s*,\s*('[^'\\]*'|"[^"\\]*")\s*\))\s*(?=,|$)/gi,
  )];
  const targets = code.match(/(?<![\w$])(?<!(?<!@)@)sql_mode`?\s*:?=(?!=)/gi)?.length ?? 0;
  if (assignments.length !== targets) return false;
  return assignments.every((a) => (a[2] ?? a[1]!).replace(/^['"]|['"]$/g, '').split(',').every((mode) => mode.trim() === '' || GRAMMAR_KEEPING_MODES.has(mode.trim().toUpperCase())));
}

function tableAfter(code: string, marker: RegExp): string[] {
  const m = new RegExp(`${marker.source}((?:\`[^\`]+\`|[\\w$]+)(?:\\.(?:\`[^\`]+\`|[\\w$]+))?)`, 'i').exec(code);
  return m ? [m[1]!.replace(/`/g, '').toLowerCase()] : [];
}

/** A string literal's value (backslash escapes as the session reads them, doubled quotes). */
function unquote(literal: string, backslashEscapes: boolean): string {
  const q = literal[0]!;
  let body = literal.slice(1, -1).split(q + q).join(q);
  if (backslashEscapes) {
    body = body.replace(/\\(.)/gs, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', Z: '\x1a', b: '\b' } as Record<string, string>)[c] ?? c);
  }
  return body;
}
