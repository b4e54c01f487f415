import type { MysqlClassifier } from '@gw/sql-mysql';
import type { Pool } from 'mysql2/promise';

/** Schemas whose views are the server's own (their functions are the `sys` helpers, read-only). */
const SERVER_SCHEMAS = ['information_schema', 'performance_schema', 'mysql'];

/** Names of stored functions and UDFs: calling one runs code the parser cannot see (sql:procedural). */
export async function loadUserFunctionNames(admin: Pool): Promise<ReadonlySet<string>> {
  const [rows] = await admin.query(`SELECT LOWER(ROUTINE_NAME) AS name FROM information_schema.ROUTINES WHERE ROUTINE_TYPE = 'FUNCTION'`);
  const names = new Set((rows as { name: string }[]).map((r) => r.name));
  try {
    const [udfs] = await admin.query('SELECT LOWER(name) AS name FROM mysql.func');
    for (const r of udfs as { name: string }[]) names.add(r.name);
  } catch {
    // no mysql.func to read (MySQL without the privilege): stored functions only
  }
  return names;
}

const lastName = (name: string): string => (name.split('.').pop() ?? name).toLowerCase();

/**
 * What a view definition calls and reads, by its text: every session start reads all views, and a
 * definition changes far more rarely than sessions open, so each text is classified once (bounded;
 * dropped whole when full). `undefined`: the text does not classify.
 */
const definitions = new Map<string, { functions: string[]; reads: string[] } | undefined>();
const MAX_DEFINITIONS = 5_000;

function readDefinition(classifier: MysqlClassifier, definition: string): { functions: string[]; reads: string[] } | undefined {
  if (definitions.has(definition)) return definitions.get(definition);
  let read: { functions: string[]; reads: string[] } | undefined;
  try {
    const statements = classifier.classify(definition);
    read = { functions: statements.flatMap((s) => s.functions.map(lastName)), reads: statements.flatMap((s) => s.tablesRead.map(lastName)) };
  } catch {
    read = undefined;
  }
  if (definitions.size >= MAX_DEFINITIONS) definitions.clear();
  definitions.set(definition, read);
  return read;
}

/**
 * Views whose definition calls a stored function or UDF, directly or through other views: reading
 * one runs that function (which may write) as surely as calling it. The server keeps each view's
 * definition as one SELECT (information_schema.VIEWS), which the session's own classifier reads. A
 * definition the admin account may not see (empty without SHOW VIEW) or that does not classify counts
 * as calling code: a view nobody can look into is not taken for a plain read. Names lower-cased,
 * without schema (a same-named view in another schema only adds caution), as readsUserCodeView matches.
 */
export async function loadUserCodeViewNames(admin: Pool, classifier: MysqlClassifier, userFunctions: ReadonlySet<string>): Promise<ReadonlySet<string>> {
  const [rows] = await admin.query(
    `SELECT LOWER(TABLE_NAME) AS name, VIEW_DEFINITION AS definition FROM information_schema.VIEWS WHERE TABLE_SCHEMA NOT IN (?)`,
    [SERVER_SCHEMAS],
  );
  const views = new Map<string, { callsCode: boolean; reads: string[] }>();
  for (const { name, definition } of rows as { name: string; definition: string | null }[]) {
    const view = views.get(name) ?? { callsCode: false, reads: [] };
    views.set(name, view);
    if (!definition) {
      view.callsCode = true;
      continue;
    }
    const read = readDefinition(classifier, definition);
    if (read === undefined || read.functions.some((f) => userFunctions.has(f))) view.callsCode = true;
    else view.reads.push(...read.reads);
  }
  // Views over views: a view calls code when any view it reads does, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const view of views.values()) {
      if (view.callsCode) continue;
      if (view.reads.some((table) => views.get(table)?.callsCode)) {
        view.callsCode = true;
        changed = true;
      }
    }
  }
  return new Set([...views].filter(([, v]) => v.callsCode).map(([name]) => name));
}
