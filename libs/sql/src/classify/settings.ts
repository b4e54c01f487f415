/**
 * Settings (GUCs) whose change is `sql:admin` rather than `sql:session`, for SET/RESET and set_config():
 * - identity: `role`, `session_authorization` change whose privileges every later statement runs with;
 * - trigger bypass: `session_replication_role` disables ordinary triggers (audit, integrity);
 * - code loading: `session_preload_libraries`, `local_preload_libraries`;
 * - parser divergence: `standard_conforming_strings`, `backslash_quote` and `client_encoding` change how
 *   the server tokenises later text. The classifier parses with standard_conforming_strings on and the
 *   text as UTF-8; if the server saw `'a\''; DELETE ...` with the setting off, or a multi-byte encoding
 *   whose trailing byte is a backslash, it would run statements the classifier never saw.
 *   (`SET NAMES x` is `client_encoding`.)
 * Names are compared lower-cased, as the server does.
 */
export const ADMIN_SETTINGS: ReadonlySet<string> = new Set([
  'role',
  'session_authorization',
  'session_replication_role',
  'session_preload_libraries',
  'local_preload_libraries',
  'standard_conforming_strings',
  'backslash_quote',
  'client_encoding',
]);

/**
 * Values of the parser-divergence settings that keep the server reading text as the classifier does:
 * `SET client_encoding = 'UTF8'` (pg_dump's workers send it) and `SET standard_conforming_strings = on`
 * (every dump script starts with it) change nothing the classifier relies on, so they are `sql:session`.
 */
export const SAME_READING_VALUES: ReadonlyMap<string, RegExp> = new Map([
  ['client_encoding', /^(utf-?8|unicode)$/i],
  ['standard_conforming_strings', /^on$/i],
]);
