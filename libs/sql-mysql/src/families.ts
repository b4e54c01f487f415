import type { SqlAction, StatementKind } from '@gw/sql';

/**
 * Statement families the MySQL grammar of node-sql-parser does not know, recognized by their leading
 * words, each given a deliberate classification. Anything not here goes to the parser, and what it
 * cannot parse is denied.
 */
export interface FamilyRule {
  readonly kind: StatementKind;
  readonly actions: readonly SqlAction[];
  readonly readOnly: boolean;
}

const rule = (kind: StatementKind, actions: SqlAction[], readOnly = false): FamilyRule => ({ kind, actions, readOnly });

export const ADMIN = rule('admin', ['sql:admin']);
export const SESSION = rule('session', ['sql:session'], true);
export const CATALOG_READ = rule('select', ['sql:select'], true);

/** Leading words that make a statement administrative whatever follows (server state, replication, plugins, files, other sessions). */
export const ADMIN_LEADERS: ReadonlySet<string> = new Set([
  'FLUSH', 'RESET', 'PURGE', 'INSTALL', 'UNINSTALL', 'SHUTDOWN', 'RESTART', 'CHANGE', 'BINLOG', 'CACHE', 'OPTIMIZE', 'REPAIR', 'ANALYZE', 'CHECK',
  'CHECKSUM', 'BACKUP', 'CLONE', 'IMPORT', 'XA', 'HELP',
]);

/** SHOW forms that read only the catalogue or the session's own state. Everything else SHOW reveals (other sessions' queries, replication, engine internals) is admin. */
export const CATALOG_SHOWS: ReadonlySet<string> = new Set([
  'DATABASES', 'SCHEMAS', 'TABLES', 'FULL', 'COLUMNS', 'FIELDS', 'INDEX', 'INDEXES', 'KEYS', 'CREATE', 'TABLE', 'VARIABLES', 'SESSION', 'STATUS', 'WARNINGS',
  'ERRORS', 'COUNT', 'COLLATION', 'CHARACTER', 'CHARSET', 'ENGINES', 'STORAGE', 'TRIGGERS', 'FUNCTION', 'PROCEDURE', 'GRANTS', 'PRIVILEGES', 'PLUGINS',
  'EVENTS', 'LOCAL', 'OPEN',
]);

/** Session variables that change more than the session's own view: setting them is admin even without GLOBAL. */
export const ADMIN_VARIABLES: ReadonlySet<string> = new Set([
  'SQL_LOG_BIN', 'SQL_LOG_OFF', 'PSEUDO_THREAD_ID', 'PSEUDO_SLAVE_MODE', 'GTID_NEXT', 'GTID_SEQ_NO', 'GTID_DOMAIN_ID', 'SERVER_ID', 'SKIP_REPLICATION',
  'GTID_PURGED', 'ROLE', 'DEFAULT', 'PASSWORD', 'WSREP_ON', 'WSREP_OSU_METHOD', 'SESSION_AUTHORIZATION', 'SQL_SAFE_UPDATES_OFF',
  // Switches off what keeps the data consistent or its history honest: foreign keys, unique and CHECK
  // constraints, writing a system-versioned table's history rows, the session's clock (row_start, NOW()).
  'FOREIGN_KEY_CHECKS', 'UNIQUE_CHECKS', 'CHECK_CONSTRAINT_CHECKS', 'SYSTEM_VERSIONING_INSERT_HISTORY', 'TIMESTAMP',
  // What the server logs of the session, and debugging hooks.
  'SLOW_QUERY_LOG', 'LOG_SLOW_QUERY', 'LOG_SLOW_FILTER', 'LOG_SLOW_DISABLED_STATEMENTS', 'LOG_DISABLED_STATEMENTS', 'BINLOG_FORMAT',
  'BINLOG_ROW_IMAGE', 'BINLOG_ANNOTATE_ROW_EVENTS', 'DEBUG', 'DEBUG_DBUG', 'DEBUG_SYNC',
]);

/** Functions that reach outside the database (the server's files) or its other sessions. */
export const ADMIN_FUNCTIONS: ReadonlySet<string> = new Set(['load_file', 'sys_exec', 'sys_eval', 'master_pos_wait', 'master_gtid_wait', 'source_pos_wait']);
