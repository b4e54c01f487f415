import { createHash } from 'node:crypto';
import mariadbGrammar from 'node-sql-parser/build/mariadb.js';
import { SqlClassificationError, type SqlAction, type StatementClassification, type StatementKind } from '@gw/sql';
import { cteNames, str, targetTables, walkAst, type AstFacts } from './ast-walk.js';
import { ADMIN, ADMIN_FUNCTIONS, ADMIN_LEADERS, ADMIN_VARIABLES, CATALOG_READ, CATALOG_SHOWS, SESSION, type FamilyRule } from './families.js';
import { lexStatements, type LexedStatement, type LexOptions } from './lexer.js';

/** A MySQL statement's classification: the shared shape, plus what only MySQL has. */
export interface MysqlStatementClassification extends StatementClassification {
  /** `KILL [QUERY|CONNECTION] n`: the agent resolves the gateway's connection id itself. */
  readonly kill?: { readonly query: boolean; readonly connectionId: number };
  /** `LOAD DATA LOCAL` / `LOAD XML LOCAL`: the client would send one of its own files. */
  readonly localInfile?: boolean;
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

/** Schemas whose tables are the server's own secrets or internals (password hashes, other sessions' statements). */
const SYSTEM_SCHEMAS = new Set(['mysql', 'performance_schema', 'sys']);

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
    const statements = lexStatements(text, options);
    if (statements.length === 0) throw new SqlClassificationError('PARSE_ERROR', 'empty statement');
    if (statements.length > this.maxStatements) throw new SqlClassificationError('LIMIT_EXCEEDED', `more than ${this.maxStatements} statements`);
    return statements.map((s) => this.classifyOne(s, options));
  }

  private classifyOne(s: LexedStatement, options: LexOptions): MysqlStatementClassification {
    // PREPARE ... FROM 'text' depends on its string, KILL on its number: never shared by shape.
    const cacheable = s.words[0] !== 'PREPARE' && s.words[0] !== 'KILL';
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
      case 'SHOW':
        return this.show(w, family);
      case 'KILL': {
        const id = /(\d+)\s*$/.exec(s.code);
        if (!id) throw new SqlClassificationError('PARSE_ERROR', 'KILL needs a connection id');
        return family(ADMIN, [], { kill: { query: w[1] === 'QUERY', connectionId: Number(id[1]) } });
      }
      case 'HANDLER':
        return family(CATALOG_READ, w[1] ? [identifier(s.code, 1)] : []);
      case 'SAVEPOINT':
      case 'RELEASE':
        return family(SESSION);
      case 'PREPARE':
        return this.prepare(s, options, family);
      case 'EXECUTE': {
        const name = identifier(s.code, 1).toLowerCase();
        return { ...family(ADMIN), kind: 'execute', execute: { name, argumentActions: [] } };
      }
      case 'DEALLOCATE':
        return { ...family(SESSION), deallocate: { name: identifier(s.code, 2).toLowerCase() } };
      case 'DO':
        return this.parsed({ ...s, code: `SELECT ${s.code.replace(/^\s*DO\b/i, '')}` }, base);
      case 'BEGIN':
        if (w[1] === 'NOT') return family({ kind: 'procedural', actions: ['sql:procedural', 'sql:admin'], readOnly: false });
        break;
      case 'SET':
        if (w[1] === 'ROLE' || w[1] === 'DEFAULT' || w[1] === 'PASSWORD' || w.some((x) => x === 'GLOBAL' || x === '@@GLOBAL' || x.startsWith('PERSIST') || x === '@@PERSIST')) return family(ADMIN);
        if (w[1] === 'NAMES' || w[1] === 'CHARACTER' || w[1] === 'CHARSET' || (w[1] === 'TRANSACTION') || ((w[1] === 'SESSION' || w[1] === 'LOCAL') && w[2] === 'TRANSACTION')) return family(SESSION);
        if (w.some((x) => ADMIN_VARIABLES.has(x.replace(/^@@/, '')))) return family(ADMIN);
        break;
      case 'LOAD':
        return family({ kind: 'copy_from', actions: ['sql:admin', 'sql:insert'], readOnly: false }, tableAfter(s.code, /\bINTO\s+TABLE\s+/i), { localInfile: w.includes('LOCAL') });
      case 'CREATE':
      case 'ALTER':
      case 'DROP': {
        const object = w.find((x) => ['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT', 'USER', 'ROLE', 'PREPARE', 'SERVER', 'TABLESPACE', 'LOGFILE'].includes(x));
        if (first === 'DROP' && w[1] === 'PREPARE') return { ...family(SESSION), deallocate: { name: identifier(s.code, 2).toLowerCase() } };
        if (object === 'USER' || object === 'ROLE' || object === 'SERVER' || object === 'TABLESPACE' || object === 'LOGFILE') return family(ADMIN);
        if (object !== undefined && w.indexOf(object) <= 6) {
          const definer = w.includes('DEFINER');
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
      default:
        break;
    }
    return this.parsed(s, base);
  }

  private show(w: readonly string[], family: (rule: FamilyRule, tables?: string[]) => MysqlStatementClassification): MysqlStatementClassification {
    const rest = w.slice(1).filter((x) => x !== 'FULL' && x !== 'EXTENDED' && x !== 'GLOBAL' && x !== 'SESSION');
    const what = rest[0] ?? '';
    if (!CATALOG_SHOWS.has(what)) return family(ADMIN);
    if (what === 'CREATE' && rest[1] === 'USER') return family(ADMIN);
    if (what === 'GRANTS' && rest.includes('FOR')) return family(ADMIN);
    const from = rest.indexOf('FROM') >= 0 ? rest.indexOf('FROM') : rest.indexOf('IN');
    let table: string | undefined;
    if (['COLUMNS', 'FIELDS', 'INDEX', 'INDEXES', 'KEYS'].includes(what) && from >= 0) table = rest[from + 1];
    if (what === 'CREATE' && (rest[1] === 'TABLE' || rest[1] === 'VIEW')) table = rest[2];
    return family(CATALOG_READ, table ? [table.toLowerCase()] : []);
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

  private parsed(s: LexedStatement, base: { text: string; fingerprint: string }): MysqlStatementClassification {
    let tree: Ast | Ast[];
    try {
      tree = this.parser.astify(s.code, { database: 'MariaDB' });
    } catch (error) {
      throw new SqlClassificationError('PARSE_ERROR', `the MySQL parser cannot read this statement: ${String((error as Error).message ?? error).slice(0, 200)}`);
    }
    const asts = Array.isArray(tree) ? tree : [tree];
    if (asts.length !== 1) throw new SqlClassificationError('PARSE_ERROR', 'the statement parsed as several');
    return this.fromAst(asts[0]!, s.words, base);
  }

  private fromAst(ast: Ast, words: readonly string[], base: { text: string; fingerprint: string }): MysqlStatementClassification {
    const type = str(ast['type']);
    if (type === 'explain' && typeof ast['expr'] === 'object' && ast['expr'] !== null) {
      const inner = this.fromAst(ast['expr'] as Ast, words.slice(1), base);
      return { ...inner, kind: 'explain' };
    }
    const facts: AstFacts = { tables: new Set(), functions: new Set(), columns: new Set() };
    const dml = type === 'insert' || type === 'replace' || type === 'update' || type === 'delete';
    let written = new Set<string>();
    try {
      walkAst(ast, facts, dml ? new Set(['table']) : new Set());
    } catch {
      throw new SqlClassificationError('LIMIT_EXCEEDED', 'statement tree too large');
    }
    if (dml) written = targetTables(ast);
    for (const cte of cteNames(ast)) facts.tables.delete(cte);
    const actions = new Set<SqlAction>();
    let kind: StatementKind;
    let readOnly = false;
    let read = [...facts.tables];
    switch (type) {
      case 'select': {
        kind = 'select';
        actions.add('sql:select');
        readOnly = true;
        const into = ast['into'] as Ast | null | undefined;
        const keyword = str(into?.['keyword']).toUpperCase();
        if (keyword === 'OUTFILE' || keyword === 'DUMPFILE') {
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
        if (type === 'create' && read.length > 0) {
          // CREATE VIEW v AS SELECT ... / CREATE TABLE ... LIKE: the first table is the one created.
          const created = Array.isArray(ast['table']) ? (ast['table'] as Ast[]) : isAst(ast['table']) ? [ast['table']] : [];
          written = new Set(created.map((t) => `${str(t['db']) ? `${str(t['db'])}.` : ''}${str(t['table']) || str(t['view'])}`.toLowerCase()).filter(Boolean));
          if (isAst(ast['view'])) written.add(str(ast['view']['view']).toLowerCase());
          if (read.some((t) => !written.has(t))) actions.add('sql:select');
        } else {
          written = new Set(read);
        }
        if (words.includes('DATABASE') || words.includes('SCHEMA')) actions.add('sql:admin');
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
    read = read.filter((t) => !written.has(t) || type === 'insert' || type === 'replace');
    if (read.length > 0 && kind !== 'select' && kind !== 'ddl' && kind !== 'truncate' && kind !== 'session') actions.add('sql:select');
    if (kind === 'session' && read.length > 0 && type !== 'lock') {
      actions.add('sql:select');
    }
    if ([...facts.tables, ...written].some((t) => SYSTEM_SCHEMAS.has(t.split('.')[0]!) && t.includes('.'))) actions.add('sql:admin');
    if ([...facts.functions].some((f) => ADMIN_FUNCTIONS.has(f))) actions.add('sql:admin');
    const locksRows = type === 'select' && (isAst(ast['locking_read']) || typeof ast['locking_read'] === 'string');
    return {
      ...base,
      kind,
      actions: sortedActions(actions),
      tablesRead: [...new Set(read)].sort(),
      tablesWritten: [...written].sort(),
      functions: [...facts.functions].sort(),
      columnsReferenced: [...facts.columns].sort(),
      readOnly: readOnly && !actions.has('sql:admin'),
      locksRows,
    };
  }
}

function isAst(v: unknown): v is Ast {
  return typeof v === 'object' && v !== null;
}

/** The `index`-th word of the statement as an identifier (backquotes removed). */
function identifier(code: string, index: number): string {
  const parts = code.trim().split(/\s+/);
  const raw = parts[index];
  if (!raw) throw new SqlClassificationError('PARSE_ERROR', 'statement is missing a name');
  return raw.replace(/^`|`$/g, '').replace(/;$/, '');
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
