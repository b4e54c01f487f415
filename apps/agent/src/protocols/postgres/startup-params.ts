import { splitSearchPath } from '@gw/sql';
import { parseStartupOptions } from './startup-options.js';
import { denialMessage, type StatementVerdict } from './statement-policy.js';

/**
 * Startup parameters and the settings inside `options`, decided before the session opens.
 *
 * A run-time setting (`statement_timeout`, `TimeZone`, `search_path`, `application_name` ...) is
 * decided the way `SET name TO 'value'` would be in the session: classified by the real parser and
 * decided by policy (normally `sql:session`; `session_replication_role` and the preload settings are
 * `sql:admin`). Settings from `options` are forwarded as plain startup parameters, so the server never
 * reads an `options` string the gateway did not write; a parameter given both ways takes the explicit
 * parameter's value, as the server does.
 *
 * Fixed rules, whatever the policy says:
 * - `role`, `session_authorization`: the session's role is the user name policy decided on;
 * - settings that change how text is read (the classifier and the masking read UTF-8 with
 *   standard-conforming strings): `client_encoding` only UTF8, `standard_conforming_strings` only on,
 *   `backslash_quote` only safe_encoding or off (both read `\'` the way the classifier does, or refuse it);
 * - `replication`: no replication connections.
 */

/** Decides one `SET` statement's text as the session would (classify, then policy). */
export type SetDecider = (setStatement: string) => StatementVerdict;

export type StartupDecision = { ok: true; params: Map<string, string> } | { ok: false; code: '08004' | '42501'; message: string };

/** The agent logs in as the session role to the resource's database itself. */
const IGNORED = new Set(['user', 'database']);
/** A setting name as the server accepts it (custom settings are `prefix.name`). */
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*$/;
const MAX_NAME_LENGTH = 63;

const IDENTITY_SETTINGS = new Set(['role', 'session_authorization']);
/** Settings that change how the server tokenises text, with the values that read it as the classifier does. */
const TEXT_READING_SETTINGS: ReadonlyMap<string, { accepts: RegExp; expected: string }> = new Map([
  ['client_encoding', { accepts: /^'?(utf-?8|unicode)'?$/i, expected: 'UTF8' }],
  ['standard_conforming_strings', { accepts: /^'?(on|true|yes|1)'?$/i, expected: 'on' }],
  ['backslash_quote', { accepts: /^'?(safe_encoding|off|false|no|0)'?$/i, expected: 'safe_encoding or off' }],
]);

export function decideStartupParams(params: ReadonlyMap<string, string>, decideSet: SetDecider): StartupDecision {
  const settings = new Map<string, { name: string; value: string }>();
  // `options` first: the server applies it before the other parameters, which therefore win.
  for (const [name, value] of params) {
    if (name.toLowerCase() !== 'options') continue;
    const parsed = parseStartupOptions(value);
    if (!parsed.ok) return refused08004(parsed.message);
    for (const s of parsed.settings) settings.set(s.name.toLowerCase(), s);
  }
  for (const [name, value] of params) {
    const lower = name.toLowerCase();
    if (IGNORED.has(lower) || lower === 'options') continue;
    if (lower === 'replication') {
      if (/^(false|off|no|0)$/i.test(value)) continue;
      return refused08004('replication connections are not available through the gateway');
    }
    settings.set(lower, { name, value });
  }

  const out = new Map<string, string>();
  for (const [lower, { name, value }] of settings) {
    const refusal = fixedRule(lower, name, value) ?? policyRule(name, value, decideSet);
    if (refusal) return refusal;
    out.set(name, value);
  }
  return { ok: true, params: out };
}

function fixedRule(lower: string, name: string, value: string): StartupDecision | undefined {
  if (name.length > MAX_NAME_LENGTH || !SETTING_NAME.test(name)) {
    return refused08004(`startup parameter "${bounded(name)}" is not a setting name the gateway can forward`);
  }
  if (lower.startsWith('_pq_.')) {
    // Protocol extension options, not settings: the gateway speaks protocol 3.0 without extensions.
    return refused08004(`protocol option "${bounded(name)}" is not supported through the gateway`);
  }
  if (IDENTITY_SETTINGS.has(lower)) {
    return refused08004(`startup setting "${name}" is not allowed through the gateway: the session runs as the role in the user name, the one policy decided on`);
  }
  const reading = TEXT_READING_SETTINGS.get(lower);
  if (reading && !reading.accepts.test(value.trim())) {
    return refused08004(`${name} "${bounded(value)}" is not supported through the gateway (statements are inspected as UTF-8 text with standard-conforming strings); use ${reading.expected}`);
  }
  return undefined;
}

function policyRule(name: string, value: string, decideSet: SetDecider): StartupDecision | undefined {
  if (TEXT_READING_SETTINGS.has(name.toLowerCase())) return undefined; // decided by its fixed rule
  let text = `SET ${quoteIdentifier(name)} TO ${quoteLiteral(value)}`;
  if (name.toLowerCase() === 'search_path') {
    // The server reads a startup value as the list itself (`evil,pg_catalog` is two schemas), while
    // `SET search_path TO 'evil,pg_catalog'` names one schema: decide the SET of the schemas it lists.
    const schemas = splitSearchPath(value);
    if (schemas === undefined) return refused08004(`search_path "${bounded(value)}" is not a list of schema names`);
    text = `SET ${quoteIdentifier(name)} TO ${schemas.length === 0 ? "''" : schemas.map(quoteLiteral).join(', ')}`;
  }
  const verdict = decideSet(text);
  if (verdict.effect === 'allow') return undefined;
  if (verdict.effect === 'require_approval') {
    return { ok: false, code: '42501', message: `startup setting "${name}" needs approval, which cannot be held while connecting: connect without it and run SET ${name} in the session` };
  }
  return { ok: false, code: '42501', message: `startup setting "${name}": ${denialMessage(verdict)}` };
}

function refused08004(message: string): StartupDecision {
  return { ok: false, code: '08004', message };
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A standard-conforming literal: only the quote needs doubling. */
function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function bounded(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}
