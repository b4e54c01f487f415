// The reviewed rules that scripts/gen-function-classes.mjs applies to every pg_catalog and
// information_schema function of the running server. This file is the review: change a rule here,
// regenerate, and the generated table shows every function whose class changed.
//
// Order of precedence for one function (first match wins):
//   1. SIGNATURE_RULES   exact `name(identity arguments)`
//   2. NAME_RULES        exact name (all overloads)
//   3. PATTERN_RULES     regular expression on the name
//   4. uncallable        takes an `internal` argument or returns a trigger/handler type: SQL cannot call it
//   5. volatility        immutable/stable => read; volatile => `unreviewed` (an admin action until someone
//                        reviews it: a new volatile built-in is never a read by default)
//
// Classes (src/classify/function-classes.ts maps them to actions):
//   read            changes nothing (immutable/stable, or reviewed)
//   volatile-read   volatile but reviewed harmless: clocks, random numbers, sizes, status readers
//   uncallable      cannot be called from SQL (internal arguments, trigger and handler functions)
//   sequence-write  changes a sequence                                  => sql:update
//   lo-create / lo-write / lo-delete   large objects                     => sql:insert / sql:update / sql:delete
//   session         changes only this session (NOTIFY, random seed)     => sql:session
//   advisory-lock   takes or releases advisory locks                    => sql:session, not read-only
//   setting         set_config: sql:session, or sql:admin for an admin setting or a computed name
//   sql-text        runs SQL given as text in the argument(s) `sqlArgs` (0-based): the literal is
//                   classified like a statement, anything but a literal is refused
//   table-reader    reads every row of the table named by argument 0 (a regclass): the literal becomes
//                   a table read, anything but a literal is refused
//   admin           files, other sessions, server configuration, backups, WAL, replication,
//                   maintenance, large-object reads outside table policy, whole-schema dumps
//   unreviewed      volatile and matched by no rule: sql:admin until reviewed

/** @type {Record<string, {class: string, sqlArgs?: number[], why: string}>} */
export const SIGNATURE_RULES = {
  'ts_rewrite(tsquery, text)': { class: 'sql-text', sqlArgs: [1], why: 'runs the SELECT in its second argument' },
  'ts_rewrite(tsquery, tsquery, tsquery)': { class: 'read', why: 'rewrites a tsquery value' },
};

/** @type {Record<string, {class: string, sqlArgs?: number[], why: string}>} */
export const NAME_RULES = {
  // SQL given as text
  query_to_xml: { class: 'sql-text', sqlArgs: [0], why: 'runs the query text in argument 1' },
  query_to_xmlschema: { class: 'sql-text', sqlArgs: [0], why: 'plans the query text in argument 1' },
  query_to_xml_and_xmlschema: { class: 'sql-text', sqlArgs: [0], why: 'runs the query text in argument 1' },
  ts_stat: { class: 'sql-text', sqlArgs: [0], why: 'runs the query text in argument 1' },
  table_to_xml: { class: 'table-reader', why: 'reads every row of the table named by argument 1' },
  table_to_xmlschema: { class: 'table-reader', why: 'describes the table named by argument 1' },
  table_to_xml_and_xmlschema: { class: 'table-reader', why: 'reads every row of the table named by argument 1' },
  cursor_to_xml: { class: 'admin', why: 'fetches from any open portal by name, which the classifier cannot tie to a statement' },
  cursor_to_xmlschema: { class: 'admin', why: 'describes any open portal by name' },
  schema_to_xml: { class: 'admin', why: 'reads every table of a schema: no table policy can name them' },
  schema_to_xmlschema: { class: 'admin', why: 'describes every table of a schema' },
  schema_to_xml_and_xmlschema: { class: 'admin', why: 'reads every table of a schema' },
  database_to_xml: { class: 'admin', why: 'reads every table of the database' },
  database_to_xmlschema: { class: 'admin', why: 'describes every table of the database' },
  database_to_xml_and_xmlschema: { class: 'admin', why: 'reads every table of the database' },

  // sequences
  nextval: { class: 'sequence-write', why: 'advances a sequence' },
  setval: { class: 'sequence-write', why: 'sets a sequence' },
  currval: { class: 'volatile-read', why: 'reads this session\'s last value of a sequence' },
  lastval: { class: 'volatile-read', why: 'reads this session\'s last sequence value' },
  pg_sequence_last_value: { class: 'volatile-read', why: 'reads a sequence' },

  // large objects: data outside any table policy
  lo_create: { class: 'lo-create', why: 'creates a large object' },
  lo_creat: { class: 'lo-create', why: 'creates a large object' },
  lo_from_bytea: { class: 'lo-create', why: 'creates a large object' },
  lo_put: { class: 'lo-write', why: 'writes a large object' },
  lowrite: { class: 'lo-write', why: 'writes a large object' },
  lo_truncate: { class: 'lo-write', why: 'truncates a large object' },
  lo_truncate64: { class: 'lo-write', why: 'truncates a large object' },
  lo_unlink: { class: 'lo-delete', why: 'deletes a large object' },
  lo_import: { class: 'admin', why: 'reads a server file into a large object' },
  lo_export: { class: 'admin', why: 'writes a large object to a server file' },
  lo_get: { class: 'admin', why: 'reads large-object data that no table policy covers' },
  loread: { class: 'admin', why: 'reads large-object data that no table policy covers' },
  lo_open: { class: 'admin', why: 'opens a large object (for reading or writing)' },
  lo_close: { class: 'admin', why: 'large-object descriptor' },
  lo_lseek: { class: 'admin', why: 'large-object descriptor' },
  lo_lseek64: { class: 'admin', why: 'large-object descriptor' },
  lo_tell: { class: 'admin', why: 'large-object descriptor' },
  lo_tell64: { class: 'admin', why: 'large-object descriptor' },

  // this session only
  set_config: { class: 'setting', why: 'changes a setting: admin for identity and parser settings' },
  pg_notify: { class: 'session', why: 'NOTIFY by another name' },
  setseed: { class: 'session', why: 'seeds this session\'s random()' },
  pg_export_snapshot: { class: 'session', why: 'exports this transaction\'s snapshot' },
  pg_stat_clear_snapshot: { class: 'volatile-read', why: 'drops this session\'s statistics snapshot' },

  // other sessions and the server process
  pg_terminate_backend: { class: 'admin', why: 'ends another session' },
  pg_cancel_backend: { class: 'admin', why: 'cancels another session\'s query' },
  pg_reload_conf: { class: 'admin', why: 'reloads the server configuration' },
  pg_promote: { class: 'admin', why: 'promotes a standby' },
  pg_log_backend_memory_contexts: { class: 'admin', why: 'signals another backend' },
  pg_import_system_collations: { class: 'admin', why: 'creates collations' },
  pg_nextoid: { class: 'admin', why: 'binary-upgrade support' },
  pg_extension_config_dump: { class: 'admin', why: 'changes an extension\'s catalogue entry' },
  pg_stop_making_pinned_objects: { class: 'admin', why: 'initdb support' },
  pg_stat_force_next_flush: { class: 'admin', why: 'forces statistics I/O' },
  brin_summarize_new_values: { class: 'admin', why: 'index maintenance' },
  brin_summarize_range: { class: 'admin', why: 'index maintenance' },
  brin_desummarize_range: { class: 'admin', why: 'index maintenance' },
  gin_clean_pending_list: { class: 'admin', why: 'index maintenance' },
  plpgsql_validator: { class: 'admin', why: 'compiles a function body' },
  pg_hba_file_rules: { class: 'admin', why: 'reads a server configuration file' },
  pg_ident_file_mappings: { class: 'admin', why: 'reads a server configuration file' },
  pg_show_all_file_settings: { class: 'admin', why: 'reads the server configuration files' },
  pg_current_logfile: { class: 'admin', why: 'server file names' },
  pg_create_restore_point: { class: 'admin', why: 'writes WAL' },
  pg_switch_wal: { class: 'admin', why: 'switches WAL segment' },
  pg_logical_emit_message: { class: 'admin', why: 'writes WAL' },
  pg_wal_replay_pause: { class: 'admin', why: 'pauses WAL replay' },
  pg_wal_replay_resume: { class: 'admin', why: 'resumes WAL replay' },

  // reviewed harmless volatile functions
  clock_timestamp: { class: 'volatile-read', why: 'clock' },
  timeofday: { class: 'volatile-read', why: 'clock' },
  random: { class: 'volatile-read', why: 'random number' },
  gen_random_uuid: { class: 'volatile-read', why: 'random uuid' },
  current_query: { class: 'volatile-read', why: 'this session\'s query text' },
  currtid2: { class: 'volatile-read', why: 'tuple id lookup' },
  amvalidate: { class: 'volatile-read', why: 'checks an access method' },
  pg_blocking_pids: { class: 'volatile-read', why: 'lock status' },
  pg_safe_snapshot_blocking_pids: { class: 'volatile-read', why: 'lock status' },
  pg_isolation_test_session_is_blocked: { class: 'volatile-read', why: 'lock status' },
  pg_lock_status: { class: 'volatile-read', why: 'lock status' },
  pg_collation_actual_version: { class: 'volatile-read', why: 'library version' },
  pg_database_collation_actual_version: { class: 'volatile-read', why: 'library version' },
  pg_database_size: { class: 'volatile-read', why: 'size' },
  pg_tablespace_size: { class: 'volatile-read', why: 'size' },
  pg_relation_size: { class: 'volatile-read', why: 'size' },
  pg_table_size: { class: 'volatile-read', why: 'size' },
  pg_indexes_size: { class: 'volatile-read', why: 'size' },
  pg_total_relation_size: { class: 'volatile-read', why: 'size' },
  pg_partition_ancestors: { class: 'volatile-read', why: 'catalogue' },
  pg_partition_tree: { class: 'volatile-read', why: 'catalogue' },
  pg_is_in_recovery: { class: 'volatile-read', why: 'server status' },
  pg_is_wal_replay_paused: { class: 'volatile-read', why: 'server status' },
  pg_get_wal_replay_pause_state: { class: 'volatile-read', why: 'server status' },
  pg_jit_available: { class: 'volatile-read', why: 'server status' },
  pg_notification_queue_usage: { class: 'volatile-read', why: 'server status' },
  pg_prepared_xact: { class: 'volatile-read', why: 'server status' },
  pg_get_multixact_members: { class: 'volatile-read', why: 'server status' },
  pg_get_backend_memory_contexts: { class: 'volatile-read', why: 'this backend\'s memory' },
  pg_get_shmem_allocations: { class: 'volatile-read', why: 'server status' },
  pg_get_wal_resource_managers: { class: 'volatile-read', why: 'server status' },
  pg_show_replication_origin_status: { class: 'volatile-read', why: 'server status' },
  pg_replication_origin_progress: { class: 'volatile-read', why: 'server status' },
  pg_replication_origin_session_is_setup: { class: 'volatile-read', why: 'server status' },
  pg_replication_origin_session_progress: { class: 'volatile-read', why: 'server status' },
  pg_stat_have_stats: { class: 'volatile-read', why: 'statistics' },
  pg_stat_get_recovery_prefetch: { class: 'volatile-read', why: 'statistics' },
  pg_xact_commit_timestamp: { class: 'volatile-read', why: 'transaction status' },
  pg_xact_commit_timestamp_origin: { class: 'volatile-read', why: 'transaction status' },
  pg_last_committed_xact: { class: 'volatile-read', why: 'transaction status' },
  pg_xact_status: { class: 'volatile-read', why: 'transaction status' },
  txid_status: { class: 'volatile-read', why: 'transaction status' },
  pg_sleep: { class: 'volatile-read', why: 'waits (statement_timeout bounds it)' },
  pg_sleep_for: { class: 'volatile-read', why: 'waits (statement_timeout bounds it)' },
  pg_sleep_until: { class: 'volatile-read', why: 'waits (statement_timeout bounds it)' },
};

/** @type {Array<{pattern: RegExp, class: string, why: string}>} */
export const PATTERN_RULES = [
  { pattern: /^pg_(try_)?advisory_/, class: 'advisory-lock', why: 'advisory locks outlive the statement and can block other sessions' },
  { pattern: /^pg_(read|read_binary)_file|^pg_ls_|^pg_stat_file$|^pg_file_/, class: 'admin', why: 'server file system' },
  { pattern: /^pg_stat_reset/, class: 'admin', why: 'resets server statistics' },
  { pattern: /^pg_rotate_logfile/, class: 'admin', why: 'rotates the server log' },
  { pattern: /^pg_(start|stop)_backup$|^pg_backup_/, class: 'admin', why: 'backups' },
  { pattern: /^pg_(current|last)_wal_|^pg_last_xact_replay_/, class: 'volatile-read', why: 'WAL positions (reads)' },
  { pattern: /^pg_(create|drop|copy)_\w*replication_slot$|^pg_replication_slot_advance$|^pg_logical_slot_/, class: 'admin', why: 'replication slots' },
  { pattern: /^pg_replication_origin_(create|drop|advance|session_setup|session_reset|xact_setup|xact_reset)$/, class: 'admin', why: 'replication origins' },
  { pattern: /^binary_upgrade_/, class: 'admin', why: 'pg_upgrade support' },
  { pattern: /^pg_control_/, class: 'volatile-read', why: 'control file status' },
  { pattern: /^pg_stat_get_xact_/, class: 'volatile-read', why: 'this transaction\'s statistics' },
];

/** Return types of functions that SQL cannot call directly. */
export const UNCALLABLE_RETURN_TYPES = new Set([
  'trigger', 'event_trigger', 'language_handler', 'fdw_handler', 'index_am_handler', 'table_am_handler', 'tsm_handler',
]);
