import type pg from 'pg';

/**
 * Calls to functions that are not PostgreSQL's own can run any SQL in their bodies (a function a
 * DBA created may DELETE), and the parser cannot see inside them. Such calls are therefore also
 * `sql:procedural`. Known at session start from the catalogue: every function name defined outside
 * pg_catalog and information_schema (extension functions included, deliberately conservative).
 */
export async function loadUserFunctionNames(admin: pg.Pool): Promise<ReadonlySet<string>> {
  const { rows } = await admin.query<{ name: string }>(
    `SELECT DISTINCT lower(p.proname) AS name
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
  );
  return new Set(rows.map((r) => r.name));
}

/** Whether a called function (as the classifier names it: lower-cased, qualified as written) may be user code. */
export function callsUserCode(functions: readonly string[], userFunctions: ReadonlySet<string>): boolean {
  return functions.some((name) => {
    const dot = name.lastIndexOf('.');
    if (dot < 0) return userFunctions.has(name);
    // Qualified with any schema but pg_catalog: not a built-in.
    return name.slice(0, dot) !== 'pg_catalog';
  });
}
