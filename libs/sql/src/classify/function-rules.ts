import type { SqlAction } from '../actions.js';

/**
 * Built-in (and common extension) functions whose call is itself an administrative act: server file
 * access, large-object import/export to server files, connections to other servers, dynamic SQL that
 * the classifier cannot see, backend signalling, configuration, backups and replication.
 * Matched on the unqualified name, case-insensitively, whatever schema the call names, so a
 * `public.pg_read_file` shadow is treated like the real one (fail closed).
 */
export const ADMIN_FUNCTIONS: ReadonlySet<string> = new Set([
  // server file system
  'pg_read_file', 'pg_read_binary_file', 'pg_stat_file', 'pg_ls_dir', 'pg_ls_logdir', 'pg_ls_waldir',
  'pg_ls_tmpdir', 'pg_ls_archive_statusdir', 'pg_ls_logicalsnapdir', 'pg_ls_logicalmapdir',
  'pg_ls_replslotdir', 'pg_file_write', 'pg_file_rename', 'pg_file_unlink', 'pg_file_sync',
  'pg_logdir_ls', 'lo_import', 'lo_export',
  // other servers and dynamic SQL the classifier cannot see
  'dblink', 'dblink_exec', 'dblink_connect', 'dblink_connect_u', 'dblink_open', 'dblink_fetch',
  'dblink_send_query', 'dblink_get_result', 'query_to_xml', 'query_to_xml_and_xmlschema',
  'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema', 'table_to_xml',
  'table_to_xml_and_xmlschema', 'schema_to_xml', 'schema_to_xml_and_xmlschema', 'database_to_xml',
  'database_to_xml_and_xmlschema',
  // other sessions and the server process
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote',
  'pg_log_backend_memory_contexts', 'pg_stat_reset', 'pg_stat_reset_shared', 'pg_stat_reset_single_table_counters',
  'pg_stat_reset_single_function_counters', 'pg_stat_reset_slru', 'pg_stat_reset_replication_slot',
  'pg_import_system_collations',
  // backups, WAL and replication
  'pg_switch_wal', 'pg_create_restore_point', 'pg_backup_start', 'pg_backup_stop', 'pg_start_backup',
  'pg_stop_backup', 'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot',
  'pg_drop_replication_slot', 'pg_copy_physical_replication_slot', 'pg_copy_logical_replication_slot',
  'pg_logical_slot_get_changes', 'pg_logical_slot_peek_changes', 'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes', 'pg_replication_slot_advance', 'pg_logical_emit_message',
  'pg_replication_origin_create', 'pg_replication_origin_drop', 'pg_replication_origin_session_setup',
  'pg_replication_origin_advance', 'pg_wal_replay_pause', 'pg_wal_replay_resume',
]);

/** Functions that change stored data as a side effect of being called (e.g. from a SELECT). */
export const DATA_CHANGING_FUNCTIONS: Readonly<Record<string, SqlAction>> = {
  setval: 'sql:update',
  lo_create: 'sql:insert',
  lo_creat: 'sql:insert',
  lo_from_bytea: 'sql:insert',
  lo_put: 'sql:update',
  lowrite: 'sql:update',
  lo_truncate: 'sql:update',
  lo_truncate64: 'sql:update',
  lo_unlink: 'sql:delete',
};

/** Functions that write nothing a policy cares about but cannot run in a read-only transaction. */
export const NOT_READ_ONLY_FUNCTIONS: ReadonlySet<string> = new Set(['nextval']);

/** Session-setting functions: admin when the setting is in ADMIN_SETTINGS (or not a constant), else session. */
export const SETTING_FUNCTIONS: ReadonlySet<string> = new Set(['set_config']);

/** `pg_notify()` is NOTIFY by another name. */
export const SESSION_FUNCTIONS: ReadonlySet<string> = new Set(['pg_notify']);
