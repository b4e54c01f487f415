import { classifySql, loadSqlParser } from '@gw/sql';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseStartupOptions, splitArguments } from './startup-options.js';
import { decideStartupParams, type SetDecider } from './startup-params.js';
import { NO_MASKING, type StatementVerdict } from './statement-policy.js';

/** A policy like the workload fixture's: session settings allowed, admin forbidden by "no-admin". */
const seen: string[] = [];
const workloadPolicy: SetDecider = (text) => {
  seen.push(text);
  const actions = classifySql(text).flatMap((s) => s.actions);
  if (actions.includes('sql:admin')) return { effect: 'deny', policies: ['no-admin'], reasons: ['workloads may not administer'], masking: NO_MASKING };
  const verdict: StatementVerdict = { effect: 'allow', policies: ['read'], reasons: [], masking: NO_MASKING };
  return actions.every((a) => a === 'sql:session') ? verdict : { ...verdict, effect: 'deny', policies: [], reasons: ['unexpected'] };
};

function decide(entries: Record<string, string>, decider: SetDecider = workloadPolicy): ReturnType<typeof decideStartupParams> {
  return decideStartupParams(new Map(Object.entries(entries)), decider);
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('startup parameters', () => {
  it('forwards the settings drivers send, each decided as its SET; drops user/database (the agent sets those)', () => {
    seen.length = 0;
    const result = decide({
      user: 'alice',
      database: 'crm',
      application_name: 'psql',
      client_encoding: 'UTF8',
      DateStyle: 'ISO, MDY',
      TimeZone: 'Europe/Paris',
      extra_float_digits: '3',
      search_path: 'app, public',
      statement_timeout: '5s',
      lock_timeout: '1000',
      idle_in_transaction_session_timeout: '60000',
      default_transaction_read_only: 'on',
    });
    expect(result).toEqual({
      ok: true,
      params: new Map([
        ['application_name', 'psql'],
        ['client_encoding', 'UTF8'],
        ['DateStyle', 'ISO, MDY'],
        ['TimeZone', 'Europe/Paris'],
        ['extra_float_digits', '3'],
        ['search_path', 'app, public'],
        ['statement_timeout', '5s'],
        ['lock_timeout', '1000'],
        ['idle_in_transaction_session_timeout', '60000'],
        ['default_transaction_read_only', 'on'],
      ]),
    });
    expect(seen).toContain(`SET "search_path" TO 'app', 'public'`);
    expect(seen).not.toContainEqual(expect.stringContaining('client_encoding'));
  });

  it('decides search_path as the list of schemas the server reads from it: one before pg_catalog is admin', () => {
    seen.length = 0;
    expect(decide({ search_path: 'evil,pg_catalog' })).toMatchObject({ ok: false, code: '42501', message: expect.stringContaining('no-admin') as unknown });
    expect(seen).toEqual([`SET "search_path" TO 'evil', 'pg_catalog'`]);
    expect(decide({ options: '-c search_path=Evil,"pg_catalog"' })).toMatchObject({ ok: false, code: '42501' });
    expect(decide({ search_path: '"$user", public, pg_temp' })).toMatchObject({ ok: true });
    expect(decide({ search_path: '' })).toMatchObject({ ok: true });
    expect(decide({ search_path: 'a,,b' })).toMatchObject({ ok: false, code: '08004' });
  });

  it('refuses a setting the policy denies, naming the setting and the policy', () => {
    expect(decide({ session_replication_role: 'replica' })).toEqual({
      ok: false,
      code: '42501',
      message: 'startup setting "session_replication_role": denied by policy "no-admin": workloads may not administer',
    });
    const approval: SetDecider = () => ({ effect: 'require_approval', policies: ['ask'], reasons: [], masking: NO_MASKING });
    expect(decide({ statement_timeout: '0' }, approval)).toMatchObject({ ok: false, code: '42501', message: expect.stringContaining('needs approval') as unknown });
  });

  it('quotes the value so that it cannot turn into another statement', () => {
    seen.length = 0;
    expect(decide({ application_name: "x'; DROP TABLE t; --" }).ok).toBe(true);
    expect(seen).toEqual([`SET "application_name" TO 'x''; DROP TABLE t; --'`]);
  });

  it.each(['role', 'ROLE', 'session_authorization'])('refuses %s whatever the policy (the role is the user name)', (name) => {
    const allowAll: SetDecider = () => ({ effect: 'allow', policies: [], reasons: [], masking: NO_MASKING });
    expect(decide({ [name]: 'postgres' }, allowAll)).toMatchObject({ ok: false, code: '08004', message: expect.stringContaining(`startup setting "${name}" is not allowed`) as unknown });
  });

  it.each(['UTF8', 'utf-8', 'unicode', "'utf8'"])('accepts client_encoding %s', (encoding) => {
    expect(decide({ client_encoding: encoding }).ok).toBe(true);
  });

  it.each(['LATIN1', 'SQL_ASCII', 'WIN1252', 'BIG5', 'GBK', 'utf16', 'UTF8;x'])('refuses client_encoding %s (the classifier reads UTF-8)', (encoding) => {
    expect(decide({ client_encoding: encoding })).toMatchObject({ ok: false, message: expect.stringMatching(/client_encoding .* is not supported.*UTF8/) as unknown });
  });

  it('refuses standard_conforming_strings off and backslash_quote on; accepts the values the classifier reads alike', () => {
    expect(decide({ standard_conforming_strings: 'off' })).toMatchObject({ ok: false, message: expect.stringContaining('use on') as unknown });
    expect(decide({ backslash_quote: 'on' })).toMatchObject({ ok: false, message: expect.stringContaining('backslash_quote') as unknown });
    expect(decide({ standard_conforming_strings: 'on', backslash_quote: 'safe_encoding' }).ok).toBe(true);
  });

  it.each(['true', 'database', 'on', '1', 'yes'])('refuses replication=%s', (value) => {
    expect(decide({ replication: value })).toEqual({ ok: false, code: '08004', message: 'replication connections are not available through the gateway' });
  });

  it.each(['false', 'off', 'no', '0', 'OFF'])('ignores replication=%s (not a replication connection) and does not forward it', (value) => {
    expect(decide({ replication: value })).toEqual({ ok: true, params: new Map() });
  });

  it('refuses protocol extension options (_pq_.*): they are not settings', () => {
    expect(decide({ '_pq_.compression': 'on' })).toEqual({ ok: false, code: '08004', message: 'protocol option "_pq_.compression" is not supported through the gateway' });
  });

  it('refuses names that are not setting names, bounded', () => {
    expect(decide({ 'a b': '1' }).ok).toBe(false);
    const long = decide({ ['x'.repeat(5000)]: '1' });
    expect(long.ok).toBe(false);
    if (!long.ok) expect(long.message.length).toBeLessThan(200);
  });
});

describe('settings inside options', () => {
  it('reads -c name=value, -cname=value and --name=value, dashes as underscores, and forwards them as parameters', () => {
    const result = decide({ options: '-c statement_timeout=5s -clock_timeout=2s --search-path=app,public --application_name=my\\ app' });
    expect(result).toEqual({
      ok: true,
      params: new Map([
        ['statement_timeout', '5s'],
        ['lock_timeout', '2s'],
        ['search_path', 'app,public'],
        ['application_name', 'my app'],
      ]),
    });
  });

  it('an explicit parameter wins over the same setting in options, as on the server', () => {
    expect(decide({ options: '-c TimeZone=UTC', timezone: 'Europe/Paris' })).toEqual({ ok: true, params: new Map([['timezone', 'Europe/Paris']]) });
  });

  it('decides options settings like parameters: denied, identity and text-reading ones are refused by name', () => {
    expect(decide({ options: '-c session_replication_role=replica' })).toMatchObject({ ok: false, message: expect.stringContaining('"session_replication_role"') as unknown });
    expect(decide({ options: '-c role=postgres' })).toMatchObject({ ok: false, message: expect.stringContaining('"role"') as unknown });
    expect(decide({ options: '--session-authorization=postgres' })).toMatchObject({ ok: false, message: expect.stringContaining('"session_authorization"') as unknown });
    expect(decide({ Options: '-c standard_conforming_strings=off' })).toMatchObject({ ok: false, message: expect.stringContaining('standard_conforming_strings') as unknown });
    expect(decide({ options: '-c client_encoding=LATIN1' }).ok).toBe(false);
  });

  it('refuses other server switches and settings without a value', () => {
    expect(decide({ options: '-B 1000' })).toMatchObject({ ok: false, message: expect.stringContaining('switch "-B" is not supported') as unknown });
    expect(decide({ options: '-c statement_timeout' })).toMatchObject({ ok: false, message: expect.stringContaining('requires a value') as unknown });
    expect(decide({ options: '-c' })).toMatchObject({ ok: false, message: expect.stringContaining('needs name=value') as unknown });
    expect(decide({ options: '   ' })).toEqual({ ok: true, params: new Map() });
  });
});

describe('splitArguments (libpq escaping)', () => {
  it.each([
    ['-c a=b  -c c=d', ['-c', 'a=b', '-c', 'c=d']],
    ['-c a=x\\ y', ['-c', 'a=x y']],
    ['-c a=back\\\\slash', ['-c', 'a=back\\slash']],
    ['\t-ca=1\n', ['-ca=1']],
    ['-c a=\u00a0b', ['-c', 'a=\u00a0b']],
    ['trailing\\', ['trailing\\']],
    ['\\ ', [' ']],
  ])('%j', (text, args) => {
    expect(splitArguments(text)).toEqual(args);
  });

  it('keeps everything after the first = as the value', () => {
    expect(parseStartupOptions('-c search_path=a=b')).toEqual({ ok: true, settings: [{ name: 'search_path', value: 'a=b' }] });
  });
});
