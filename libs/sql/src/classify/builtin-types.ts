import { INFORMATION_SCHEMA_TYPES, PG_CATALOG_TYPES } from './builtin-types.generated.js';

const PG_CATALOG: ReadonlySet<string> = new Set(PG_CATALOG_TYPES);
const INFORMATION_SCHEMA: ReadonlySet<string> = new Set(INFORMATION_SCHEMA_TYPES);

/**
 * Whether a type name, as the parser gives it (unquoted parts lower-cased, `int` already `pg_catalog.int4`),
 * is one of PostgreSQL's own types. An unqualified name resolves in pg_catalog first (search_path changes that
 * put a schema before pg_catalog are admin, see settings.ts); other schemas' types are user-defined.
 */
export function isBuiltInType(names: readonly string[]): boolean {
  const [first, second] = names;
  if (names.length === 1 && first !== undefined) return PG_CATALOG.has(first);
  if (names.length !== 2 || first === undefined || second === undefined) return false;
  if (first === 'pg_catalog') return PG_CATALOG.has(second);
  if (first === 'information_schema') return INFORMATION_SCHEMA.has(second);
  return false;
}
