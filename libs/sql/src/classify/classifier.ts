import type { StatementClassification } from '../actions.js';
import { SqlClassificationError } from '../errors.js';
import { fingerprintSql, parseSql } from '../parser/load.js';
import { preparedStatementText } from '../parser/prepare-body.js';
import { buildClassification, withText } from './build.js';
import { Collector } from './collector.js';
import { LruCache } from './lru-cache.js';
import { shapeKeyOf } from './shape-key.js';
import { TreeWalker } from './walk.js';

export interface SqlClassifierOptions {
  /** Longest text accepted, in UTF-16 code units (default 1 MiB). Longer text is refused, not truncated. */
  readonly maxTextLength?: number;
  /** Most statements in one text (default 1000). */
  readonly maxStatements?: number;
  /** Classifications kept, keyed by exact text (default 5000). */
  readonly cacheSize?: number;
  /** Classifications kept by statement shape, i.e. text with its constants replaced (default 5000; 0 turns it off). */
  readonly shapeCacheSize?: number;
  /** Deepest parse-tree nesting accepted (default 1000). */
  readonly maxDepth?: number;
  /** Most parse-tree nodes in one statement (default 200 000). */
  readonly maxNodes?: number;
  /** How deep LANGUAGE sql function bodies may define further functions (default 3). */
  readonly maxBodyNesting?: number;
}

export interface SqlClassifierStats {
  /** Texts handed to the parser (cache misses). */
  readonly parses: number;
  readonly cacheHits: number;
  /** Texts served by a statement of the same shape (same text but for its constants). */
  readonly shapeHits: number;
}

/**
 * Top-level statements whose classification depends on names and structure only, never on a constant's
 * value (as long as the walk did not read one: see Collector.readsConstantValues).
 */
const SHAPE_CACHEABLE_TYPES: ReadonlySet<string> = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt']);

/** A single-statement text's classification, reusable for every text that normalizes the same way. */
interface ShapeEntry {
  readonly template: StatementClassification;
  /** Characters before and after the statement's own text (comments, spaces, `;`): the same in every such text. */
  readonly head: number;
  readonly tail: number;
}

interface Classified {
  readonly statements: StatementClassification[];
  readonly shape?: ShapeEntry;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Classifies SQL text with the real PostgreSQL parser. Results are frozen and cached by exact text, so
 * the same text is parsed once while it stays in the cache. A single DML statement is also cached by
 * shape: clients that inline their values (`WHERE id = 42`, then `WHERE id = 43`) send a new text each
 * time. The shape key is the text with its integer constants replaced (a character scan, for texts
 * whose only constants are plain integers) or else the parser's own normalization (constants replaced
 * by `$n`, everything else kept), either far cheaper than a full parse and classification.
 */
export class SqlClassifier {
  private readonly cache: LruCache<string, readonly StatementClassification[]>;
  private readonly shapes: LruCache<string, ShapeEntry>;
  private readonly maxTextLength: number;
  private readonly maxStatements: number;
  private readonly maxDepth: number;
  private readonly maxNodes: number;
  private readonly maxBodyNesting: number;
  private bodyNesting = 0;
  private parses = 0;
  private cacheHits = 0;
  private shapeHits = 0;

  constructor(options: SqlClassifierOptions = {}) {
    this.cache = new LruCache(options.cacheSize ?? 5000);
    this.shapes = new LruCache(options.shapeCacheSize ?? 5000);
    this.maxTextLength = options.maxTextLength ?? 1024 * 1024;
    this.maxStatements = options.maxStatements ?? 1000;
    this.maxDepth = options.maxDepth ?? 1000;
    this.maxNodes = options.maxNodes ?? 200_000;
    this.maxBodyNesting = options.maxBodyNesting ?? 3;
  }

  get stats(): SqlClassifierStats {
    return { parses: this.parses, cacheHits: this.cacheHits, shapeHits: this.shapeHits };
  }

  /** One classification per statement, in order. Throws SqlClassificationError: treat that as deny. */
  classify(text: string): readonly StatementClassification[] {
    const cached = this.cache.get(text);
    if (cached !== undefined) {
      this.cacheHits += 1;
      return cached;
    }
    this.checkText(text);
    const shape = shapeKeyOf(text);
    const entry = shape === undefined ? undefined : this.shapes.get(shape);
    if (entry !== undefined) {
      this.shapeHits += 1;
      // Not added to the exact-text cache: texts that differ only in constants would crowd it out.
      return Object.freeze([this.fromShape(entry, text)]);
    }
    const classified = this.classifyUncached(text);
    const result = Object.freeze(classified.statements);
    this.cache.set(text, result);
    if (shape !== undefined && classified.shape !== undefined) this.shapes.set(shape, classified.shape);
    return result;
  }

  private fromShape(entry: ShapeEntry, text: string): StatementClassification {
    const slice = text.slice(entry.head, text.length - entry.tail).trim();
    return withText(entry.template, slice, () => fingerprintSql(slice));
  }

  private checkText(text: string): void {
    if (text.length > this.maxTextLength) {
      throw new SqlClassificationError('LIMIT_EXCEEDED', `SQL text longer than ${this.maxTextLength} characters`);
    }
    if (text.includes('\u0000')) {
      // The server stops reading a query string at NUL; the parser would not. Refuse the divergence.
      throw new SqlClassificationError('PARSE_ERROR', 'SQL text contains a NUL character');
    }
  }

  private classifyUncached(text: string): Classified {
    if (text.trim() === '') return { statements: [] };
    this.parses += 1;
    const tree = parseSql(text);
    const stmts = tree.stmts ?? [];
    if (stmts.length > this.maxStatements) {
      throw new SqlClassificationError('LIMIT_EXCEEDED', `more than ${this.maxStatements} statements in one text`);
    }
    // Statement locations are byte offsets into the UTF-8 text.
    const bytes = Buffer.from(text, 'utf8');
    let shape: ShapeEntry | undefined;
    const statements = stmts.map((raw) => {
      const start = raw.stmt_location ?? 0;
      const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? bytes.length : start + raw.stmt_len;
      const slice = utf8.decode(bytes.subarray(start, end)).trim();
      const node = raw.stmt as unknown;
      if (typeof node !== 'object' || node === null) throw new SqlClassificationError('MALFORMED_TREE', 'statement without a body');
      const entries = Object.entries(node as Record<string, unknown>);
      const [entry] = entries;
      if (entries.length !== 1 || entry === undefined || typeof entry[1] !== 'object' || entry[1] === null) {
        throw new SqlClassificationError('MALFORMED_TREE', 'statement node is not a single typed node');
      }
      const [type, body] = entry as [string, Record<string, unknown>];
      const collector = new Collector();
      new TreeWalker(collector, { maxDepth: this.maxDepth, maxNodes: this.maxNodes }, (bodyText) =>
        this.classifyFunctionBody(bodyText),
      ).walkStatement(type, body);
      let preparedText: { text: string; fingerprint: string } | undefined;
      if (type === 'PrepareStmt') {
        const inner = preparedStatementText(slice);
        preparedText = { text: inner, fingerprint: fingerprintSql(inner) };
      }
      const classification = buildClassification({ type, body, collector, text: slice, fingerprint: () => fingerprintSql(slice), preparedText });
      const plain = classification.prepared === undefined && classification.execute === undefined && classification.deallocate === undefined;
      if (stmts.length === 1 && plain && SHAPE_CACHEABLE_TYPES.has(type) && !collector.readsConstantValues) {
        const head = utf8.decode(bytes.subarray(0, start)).length;
        const tail = utf8.decode(bytes.subarray(end)).length;
        shape = { template: classification, head, tail };
      }
      return classification;
    });
    return { statements, ...(shape ? { shape } : {}) };
  }

  private classifyFunctionBody(text: string): readonly StatementClassification[] {
    if (this.bodyNesting >= this.maxBodyNesting) {
      throw new SqlClassificationError('LIMIT_EXCEEDED', `function bodies nested deeper than ${this.maxBodyNesting}`);
    }
    this.bodyNesting += 1;
    try {
      return this.classify(text);
    } finally {
      this.bodyNesting -= 1;
    }
  }

  clearCache(): void {
    this.cache.clear();
    this.shapes.clear();
  }
}
