import { viewColumns, type MysqlClassifier, type ViewColumn } from '@gw/sql-mysql';
import type { Pool } from 'mysql2/promise';
import type { ViewLineage } from '../postgres/view-masking.js';

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
interface ViewDefinition {
  functions: string[];
  reads: string[];
  columns: string[];
  /** Where each column of the view comes from; undefined when the definition's columns cannot be followed. */
  byName: Map<string, ViewColumn> | undefined;
}
const definitions = new Map<string, ViewDefinition | undefined>();
const MAX_DEFINITIONS = 5_000;

function readDefinition(classifier: MysqlClassifier, definition: string): ViewDefinition | undefined {
  if (definitions.has(definition)) return definitions.get(definition);
  let read: ViewDefinition | undefined;
  try {
    const statements = classifier.classify(definition);
    read = {
      functions: statements.flatMap((s) => s.functions.map(lastName)),
      reads: statements.flatMap((s) => s.tablesRead.map(lastName)),
      columns: statements.flatMap((s) => s.columnsReferenced),
      byName: columnsByName(definition),
    };
  } catch {
    read = undefined;
  }
  if (definitions.size >= MAX_DEFINITIONS) definitions.clear();
  definitions.set(definition, read);
  return read;
}

function columnsByName(definition: string): Map<string, ViewColumn> | undefined {
  const columns = viewColumns(definition);
  if (!columns) return undefined;
  const byName = new Map<string, ViewColumn>();
  for (const column of columns) {
    if (byName.has(column.name)) return undefined; // two columns of one name: which one a result shows is unknown
    byName.set(column.name, column);
  }
  return byName;
}

/**
 * Every view, by name (lower-cased, without schema: a same-named view in another schema only adds
 * caution), with what the session needs to know of it. The server keeps each view's definition as one
 * SELECT (information_schema.VIEWS), which the session's own classifier reads.
 * - `userCodeViews`: views whose definition calls a stored function or UDF, directly or through other
 *   views: reading one runs that function (which may write) as surely as calling it.
 * - `views`: the base tables and the columns behind each view, through views on views. The server
 *   names a view as the source of its columns, so a column rule on a base table would not find them:
 *   the policy masks a view's columns as derived from what is behind it (statement-policy.ts), and
 *   result masking follows each column of a view to the columns it comes from where it can
 *   (`columnsByName`; only for a view whose name no other schema's view has).
 * A definition the admin account may not see (empty without SHOW VIEW) or that does not classify is
 * opaque: it counts as calling code and as reading every ruled column.
 */
export async function loadViews(admin: Pool, classifier: MysqlClassifier, userFunctions: ReadonlySet<string>): Promise<{ userCodeViews: ReadonlySet<string>; views: ReadonlyMap<string, ViewLineage> }> {
  const [rows] = await admin.query(
    `SELECT LOWER(TABLE_NAME) AS name, LOWER(TABLE_SCHEMA) AS \`schema\`, VIEW_DEFINITION AS definition FROM information_schema.VIEWS WHERE TABLE_SCHEMA NOT IN (?)`,
    [SERVER_SCHEMAS],
  );
  const views = new Map<string, { callsCode: boolean; opaque: boolean; reads: string[]; columns: string[]; byName?: Map<string, ViewColumn>; schema: string; named: number }>();
  for (const { name, schema, definition } of rows as { name: string; schema: string; definition: string | null }[]) {
    const view = views.get(name) ?? { callsCode: false, opaque: false, reads: [], columns: [], schema, named: 0 };
    views.set(name, view);
    view.named += 1;
    const read = definition ? readDefinition(classifier, definition) : undefined;
    view.byName = view.named === 1 ? read?.byName : undefined;
    if (read === undefined) {
      view.callsCode = true;
      view.opaque = true;
      continue;
    }
    if (read.functions.some((f) => userFunctions.has(f))) view.callsCode = true;
    view.reads.push(...read.reads);
    view.columns.push(...read.columns);
  }
  // Views over views: what a view reads through another, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const view of views.values()) {
      for (const table of view.reads) {
        const inner = views.get(table);
        if (!inner || inner === view) continue;
        const before = view.reads.length + view.columns.length + Number(view.callsCode) + Number(view.opaque);
        view.callsCode ||= inner.callsCode;
        view.opaque ||= inner.opaque;
        for (const t of inner.reads) if (!view.reads.includes(t)) view.reads.push(t);
        for (const c of inner.columns) if (!view.columns.includes(c)) view.columns.push(c);
        if (view.reads.length + view.columns.length + Number(view.callsCode) + Number(view.opaque) !== before) changed = true;
      }
    }
  }
  return {
    userCodeViews: new Set([...views].filter(([, v]) => v.callsCode).map(([name]) => name)),
    views: new Map([...views].map(([name, v]) => [name, {
      tables: v.reads.filter((t) => !views.has(t)), columns: v.columns, opaque: v.opaque, ...(v.byName ? { columnsByName: v.byName, schema: v.schema } : {}),
    }])),
  };
}
