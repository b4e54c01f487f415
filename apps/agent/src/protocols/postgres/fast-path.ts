import type { StatementClassification } from '@gw/sql';

/** PostgreSQL's FirstNormalObjectId: objects below it were made by initdb (built-in functions among them). */
const FIRST_NORMAL_OBJECT_ID = 16384;

/**
 * What a fast-path FunctionCall (a function run by OID, without SQL) is decided as. It is procedural code
 * in any case. The OID of a built-in function is fixed by initdb (`2096` is pg_terminate_backend, `2624`
 * pg_read_file, `2078` set_config), and the gateway does not resolve it to a name: a built-in reached this
 * way is also `sql:admin`, since the call could be any of them (as SQL, the administrative ones are admin
 * and the large-object ones libpq calls this way are admin or writes).
 */
export function functionCallClassification(oid: number): StatementClassification {
  const builtIn = oid < FIRST_NORMAL_OBJECT_ID;
  return Object.freeze({
    kind: 'procedural',
    actions: Object.freeze(builtIn ? (['sql:admin', 'sql:procedural'] as const) : (['sql:procedural'] as const)),
    tablesRead: [], tablesWritten: [], functions: [`oid:${oid}`], columnsReferenced: [],
    readOnly: false, locksRows: false, text: `-- FunctionCall oid ${oid}`, fingerprint: '',
  });
}
