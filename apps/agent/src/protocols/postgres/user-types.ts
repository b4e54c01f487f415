import type { StatementClassification } from '@gw/sql';
import type pg from 'pg';

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
