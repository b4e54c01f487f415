import { describe, expect, it } from 'vitest';
import { filterStartupParams } from './startup-params.js';

function filter(entries: Record<string, string>): ReturnType<typeof filterStartupParams> {
  return filterStartupParams(new Map(Object.entries(entries)));
}

describe('filterStartupParams', () => {
  it('passes the allowed parameters through unchanged and drops user/database (the agent sets those)', () => {
    const result = filter({
      user: 'alice',
      database: 'crm',
      application_name: 'psql',
      client_encoding: 'UTF8',
      DateStyle: 'ISO, MDY',
      TimeZone: 'Europe/Paris',
      IntervalStyle: 'iso_8601',
      extra_float_digits: '3',
      search_path: 'app, public',
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.params]).toEqual([
      ['application_name', 'psql'],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO, MDY'],
      ['TimeZone', 'Europe/Paris'],
      ['IntervalStyle', 'iso_8601'],
      ['extra_float_digits', '3'],
      ['search_path', 'app, public'],
    ]);
  });

  it.each(['UTF8', 'utf-8', 'unicode', "'utf8'"])('accepts client_encoding %s', (encoding) => {
    expect(filter({ client_encoding: encoding }).ok).toBe(true);
  });

  it.each(['LATIN1', 'SQL_ASCII', 'WIN1252', 'BIG5', 'GBK', 'utf16', 'UTF8;x'])('refuses client_encoding %s (the classifier reads UTF-8)', (encoding) => {
    const result = filter({ client_encoding: encoding });
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/client_encoding .* is not supported.*UTF8/) });
  });

  it.each(['true', 'database', 'on', '1', 'yes'])('refuses replication=%s', (value) => {
    expect(filter({ replication: value })).toEqual({ ok: false, message: 'replication connections are not available through the gateway' });
  });

  it.each(['false', 'off', 'no', '0', 'OFF'])('ignores replication=%s (not a replication connection) and does not forward it', (value) => {
    const result = filter({ replication: value });
    expect(result).toEqual({ ok: true, params: new Map() });
  });

  it('refuses a non-empty options parameter (it would set GUCs that bypass statement policy)', () => {
    expect(filter({ options: '-c session_replication_role=replica' })).toMatchObject({ ok: false, message: expect.stringContaining('"options"') });
    expect(filter({ options: '   ' })).toEqual({ ok: true, params: new Map() });
  });

  it('matches names case-insensitively: REPLICATION and Options are refused too', () => {
    expect(filter({ REPLICATION: 'true' }).ok).toBe(false);
    expect(filter({ Options: '-c role=postgres' }).ok).toBe(false);
  });

  it('refuses any other parameter, naming it (bounded)', () => {
    expect(filter({ session_authorization: 'postgres' })).toEqual({ ok: false, message: 'startup parameter "session_authorization" is not allowed through the gateway' });
    expect(filter({ role: 'postgres' }).ok).toBe(false);
    expect(filter({ default_transaction_read_only: 'off' }).ok).toBe(false);
    const long = filter({ ['x'.repeat(5000)]: '1' });
    expect(long.ok).toBe(false);
    if (!long.ok) expect(long.message.length).toBeLessThan(200);
  });
});
