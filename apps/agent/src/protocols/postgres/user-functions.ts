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

/**
 * User functions that take one row (a composite or pseudo-type argument, the rest defaulted or variadic):
 * PostgreSQL calls them in attribute notation too, `t.full_name` for `full_name(t)`, which a statement's
 * text shows only as a column name. Lower-cased, without schema.
 */
export async function loadUserRowFunctionNames(admin: pg.Pool): Promise<ReadonlySet<string>> {
  const { rows } = await admin.query<{ name: string }>(
    `SELECT DISTINCT lower(p.proname) AS name
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_type t ON t.oid = p.proargtypes[0]
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND p.pronargs >= 1 AND t.typtype IN ('c', 'p') AND (p.pronargs - p.pronargdefaults <= 1 OR p.provariadic <> 0)`,
  );
  return new Set(rows.map((r) => r.name));
}

/** Whether a column name the statement references may be such a function called in attribute notation. */
export function callsUserRowFunction(columnsReferenced: readonly string[], userRowFunctions: ReadonlySet<string>): boolean {
  return userRowFunctions.size > 0 && columnsReferenced.some((name) => userRowFunctions.has(name));
}

/** Whether a called function (as the classifier names it: lower-cased, qualified as written) may be user code. */
export function callsUserCode(functions: readonly string[], userFunctions: ReadonlySet<string>): boolean {
  return functions.some((name) => {
    const dot = name.lastIndexOf('.');
    if (dot < 0) return userFunctions.has(name);
    // Qualified with any schema but PostgreSQL's own two: not a built-in. information_schema's helpers
    // are initdb's, as loadUserFunctionNames counts them (pgJDBC's getPrimaryKeys and getIndexInfo call
    // information_schema._pg_expandarray); only a superuser can create functions in that schema.
    const schema = name.slice(0, dot);
    return schema !== 'pg_catalog' && schema !== 'information_schema';
  });
}

/**
 * Views whose definition calls a function that is not PostgreSQL's own, directly or through other
 * views: reading one runs that code as surely as calling it (materialized views are read as stored
 * and do not count). Names lower-cased, without schema (a same-named view elsewhere only adds caution).
 */
export async function loadUserCodeViewNames(admin: pg.Pool): Promise<ReadonlySet<string>> {
  const { rows } = await admin.query<{ name: string }>(
    `WITH RECURSIVE calling(view) AS (
       SELECT r.ev_class
         FROM pg_rewrite r
         JOIN pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
         JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_proc'::regclass
         JOIN pg_proc p ON p.oid = d.refobjid
         JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       UNION
       SELECT r.ev_class
         FROM pg_rewrite r
         JOIN pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
         JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
         JOIN calling c ON c.view = d.refobjid
        WHERE r.ev_class <> d.refobjid
     )
     SELECT DISTINCT lower(c.relname) AS name FROM calling JOIN pg_class c ON c.oid = calling.view`,
  );
  return new Set(rows.map((r) => r.name));
}

/** Whether a statement reads one of those views (tables as the classifier names them, qualified or not). */
export function readsUserCodeView(tables: readonly string[], userCodeViews: ReadonlySet<string>): boolean {
  if (userCodeViews.size === 0) return false;
  return tables.some((name) => userCodeViews.has((name.split('.').pop() ?? name).toLowerCase()));
}
