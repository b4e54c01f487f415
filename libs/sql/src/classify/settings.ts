import { readQuotedIdentifier } from './quoted-identifier.js';

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

/**
 * Whether a search_path keeps PostgreSQL's own functions, operators and types ahead of every other schema,
 * as the classifier assumes when it reads `lower(x)`, `a = b` or `'1'::int4` as built-ins: pg_catalog is
 * searched first unless the path names it after another schema (`SET search_path = evil, pg_catalog`
 * makes `lower(x)` run `evil.lower`). Only `pg_temp` may come before it: it is never searched for
 * functions or operators, and is searched first for relations and types anyway.
 * `schemas` are the path's schema names exactly as the server reads them.
 */
export function searchPathKeepsCatalogFirst(schemas: readonly string[]): boolean {
  const catalog = schemas.indexOf('pg_catalog');
  return catalog < 0 || schemas.slice(0, catalog).every((schema) => schema === 'pg_temp');
}

/**
 * The schema names of a search_path given as one string (set_config's value), split as the server's
 * SplitIdentifierString does: comma-separated, spaces around names ignored, double-quoted names kept as
 * written (`""` is a quote), others lower-cased (ASCII letters). Undefined when the server would refuse it.
 */
export function splitSearchPath(text: string): string[] | undefined {
  const names: string[] = [];
  let i = 0;
  const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
  for (;;) {
    while (isSpace(text[i])) i += 1;
    if (i >= text.length && names.length === 0) return names; // an empty path
    let name = '';
    if (text[i] === '"') {
      const quoted = readQuotedIdentifier(text, i);
      if (quoted === undefined) return undefined;
      ({ name, end: i } = quoted);
    } else {
      while (i < text.length && text[i] !== ',' && !isSpace(text[i])) {
        name += text[i];
        i += 1;
      }
      if (name === '') return undefined;
      name = name.replace(/[A-Z]/g, (c) => c.toLowerCase());
    }
    names.push(name);
    while (isSpace(text[i])) i += 1;
    if (i >= text.length) return names;
    if (text[i] !== ',') return undefined;
    i += 1;
  }
}
