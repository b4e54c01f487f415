import type { StatementClassification } from '@gw/sql';
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
    // Qualified with any schema but pg_catalog: not a built-in.
    return name.slice(0, dot) !== 'pg_catalog';
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

/**
 * User types whose conversion runs no user code: enums (PostgreSQL's own enum_in reads them) and
 * composite types, a table's row type included, whose columns are all PostgreSQL's own types, enums or
 * arrays of those, provided no cast written as a user function leads to them. Named as the classifier
 * names a type (see StatementClassification.typesConverted): `schema.name`, and the bare name when no
 * other type of that name is unsafe; and as `oid:<n>` (with its array type's), for the parameter types
 * an extended-protocol Parse declares (see withDeclaredParameterTypes). Everything else converted to (domains, whose CHECK may call
 * anything, base types with their own I/O functions, ranges) is user code, and so is a type made later.
 */
export async function loadSafeUserTypes(admin: pg.Pool): Promise<ReadonlySet<string>> {
  const { rows } = await admin.query<{ name: string; schema: string; safe: boolean; oid: number; array: number }>(
    `WITH user_types AS (
       SELECT t.oid, t.typname, n.nspname, t.typtype, t.typrelid, t.typarray
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
     ),
     cast_by_user_function AS (
       SELECT c.casttarget FROM pg_cast c
         JOIN pg_proc p ON p.oid = c.castfunc JOIN pg_namespace pn ON pn.oid = p.pronamespace
        WHERE pn.nspname NOT IN ('pg_catalog', 'information_schema')
     ),
     plain_value_types AS (
       SELECT t.oid FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname IN ('pg_catalog', 'information_schema') OR t.typtype = 'e'
     )
     SELECT u.typname AS name, u.nspname AS schema, u.oid::int AS oid, u.typarray::int AS array,
            (u.oid NOT IN (SELECT casttarget FROM cast_by_user_function) AND (
              u.typtype = 'e' OR (u.typtype = 'c' AND NOT EXISTS (
                SELECT 1 FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
                 WHERE a.attrelid = u.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                   AND at.oid NOT IN (SELECT oid FROM plain_value_types)
                   AND NOT (at.typcategory = 'A' AND at.typelem IN (SELECT oid FROM plain_value_types))
              ))
            )) AS safe
       FROM user_types u`,
  );
  const unsafeNames = new Set(rows.filter((r) => !r.safe).map((r) => r.name));
  const safe = new Set<string>();
  for (const r of rows) {
    if (!r.safe) continue;
    safe.add(`${r.schema}.${r.name}`);
    if (!unsafeNames.has(r.name)) safe.add(r.name);
    safe.add(`oid:${r.oid}`);
    if (r.array !== 0) safe.add(`oid:${r.array}`);
  }
  return safe;
}

/** OIDs below this are PostgreSQL's own objects (FirstNormalObjectId). */
const FIRST_USER_OID = 16384;

/**
 * A Parse may declare its parameters' types: a bound value is converted to each, which runs that type's
 * code as a cast would. Types that are not PostgreSQL's own are added to the statement's
 * typesConverted as `oid:<n>`, to be decided like the casts its text makes.
 */
export function withDeclaredParameterTypes(statement: StatementClassification, paramTypes: readonly number[]): StatementClassification {
  const user = paramTypes.filter((oid) => oid >= FIRST_USER_OID).map((oid) => `oid:${oid}`);
  if (user.length === 0) return statement;
  const typesConverted = Object.freeze([...new Set([...(statement.typesConverted ?? []), ...user])].sort());
  return Object.freeze({ ...statement, typesConverted });
}

/** Whether a statement converts a value to a type whose conversion may run user code (see loadSafeUserTypes). */
export function convertsToUserCodeType(typesConverted: readonly string[] | undefined, safeUserTypes: ReadonlySet<string>): boolean {
  return (typesConverted ?? []).some((type) => !safeUserTypes.has(type));
}

/** Whether a statement reads one of those views (tables as the classifier names them, qualified or not). */
export function readsUserCodeView(tables: readonly string[], userCodeViews: ReadonlySet<string>): boolean {
  if (userCodeViews.size === 0) return false;
  return tables.some((name) => userCodeViews.has((name.split('.').pop() ?? name).toLowerCase()));
}
