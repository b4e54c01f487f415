import { fingerprintSync, loadModule, normalizeSync, parseSync, type ParseResult } from 'libpg-query';

import { SqlClassificationError } from '../errors.js';

let loading: Promise<void> | undefined;
let loaded = false;

/** Loads the PostgreSQL parser (WebAssembly). Call once at start-up; later calls are cheap. */
export async function loadSqlParser(): Promise<void> {
  loading ??= loadModule().then(() => {
    loaded = true;
  });
  await loading;
}

function requireLoaded(): void {
  if (!loaded) {
    throw new SqlClassificationError('PARSER_NOT_LOADED', 'call await loadSqlParser() before classifying SQL');
  }
}

function errorPosition(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'sqlDetails' in error) {
    const details = (error as { sqlDetails?: { cursorPosition?: unknown } }).sqlDetails;
    if (typeof details?.cursorPosition === 'number') return details.cursorPosition;
  }
  return undefined;
}

/** Runs one parser entry point; its errors become SqlClassificationError PARSE_ERROR (deny). */
function callParser<T>(what: string, call: () => T): T {
  requireLoaded();
  try {
    return call();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SqlClassificationError('PARSE_ERROR', `cannot ${what} SQL: ${message}`, errorPosition(error));
  }
}

export function parseSql(text: string): ParseResult {
  return callParser('parse', () => parseSync(text));
}

export function fingerprintSql(text: string): string {
  return callParser('fingerprint', () => fingerprintSync(text));
}

/** The text with every constant replaced by `$n` (the parser's own normalization; comments and spacing kept). */
export function normalizeSql(text: string): string {
  return callParser('normalize', () => normalizeSync(text));
}
