import type { SqlAction } from '../actions.js';
import { buildFunctionRules, type FunctionClass, type FunctionRule } from './function-class.js';
import { PG_FUNCTIONS } from './pg-functions.generated.js';

/**
 * Functions of common extensions (not in pg_catalog, so not in the generated table) whose call is an
 * administrative act whatever the policy says about user code: connections to other servers or back
 * into this one with SQL the classifier cannot see (dblink), and adminpack's server file access.
 */
const EXTENSION_FUNCTION_CLASSES: Readonly<Record<string, FunctionClass>> = {
  dblink: 'admin', dblink_exec: 'admin', dblink_connect: 'admin', dblink_connect_u: 'admin', dblink_open: 'admin',
  dblink_fetch: 'admin', dblink_send_query: 'admin', dblink_get_result: 'admin', dblink_close: 'admin',
  dblink_disconnect: 'admin', dblink_build_sql_insert: 'admin', dblink_build_sql_update: 'admin',
  dblink_build_sql_delete: 'admin', dblink_get_connections: 'admin', dblink_is_busy: 'admin',
  dblink_cancel_query: 'admin', dblink_error_message: 'admin', dblink_get_notify: 'admin',
  pg_file_write: 'admin', pg_file_rename: 'admin', pg_file_unlink: 'admin', pg_file_sync: 'admin', pg_logdir_ls: 'admin',
  // names of older server versions that the local catalogue no longer has
  pg_start_backup: 'admin', pg_stop_backup: 'admin',
};

/**
 * Every pg_catalog / information_schema function by lower-cased name, merged over its overloads, plus
 * the extension functions above. Built once at load.
 */
const FUNCTION_RULES: ReadonlyMap<string, FunctionRule> = buildFunctionRules(PG_FUNCTIONS, EXTENSION_FUNCTION_CLASSES);

/**
 * A function the table does not know is not PostgreSQL's own: a user-defined or extension function, or
 * a built-in of a newer server version that nobody has reviewed. Its body can do anything, so it is
 * never a read: `sql:procedural`, as the agent already treats functions defined outside pg_catalog.
 */
export const UNKNOWN_FUNCTION_ACTION: SqlAction = 'sql:procedural';

/** Schemas whose functions the table covers; a call qualified with any other schema is user code. */
export const BUILT_IN_SCHEMAS: ReadonlySet<string> = new Set(['pg_catalog', 'information_schema']);

/**
 * The rule for a function's unqualified, lower-cased name, whatever schema the call names: a
 * `public.setval` shadow is treated like the real `setval` (fail closed). One Map lookup.
 */
export function functionRuleFor(name: string): FunctionRule | undefined {
  return FUNCTION_RULES.get(name);
}
