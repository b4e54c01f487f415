import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jwtExpiry, loadToken, saveToken } from './token-store.js';

const root = mkdtempSync(join(tmpdir(), 'gw-cli-token-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshEnv = () => ({ GW_CONFIG_DIR: join(root, `cfg-${n++}`, 'gw') });

function jwt(payload: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'ES256' })}.${part(payload)}.sig`;
}
const now = 1_800_000_000;

describe('token storage', () => {
  it('saves with mode 0600 in a 0700 directory and loads it back', () => {
    const env = freshEnv();
    const path = saveToken(env, { token: 'abc.def.ghi', source: 'token', expiresAt: now + 3600 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(env.GW_CONFIG_DIR).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ token: 'abc.def.ghi', source: 'token', expiresAt: now + 3600 });
    expect(loadToken(env, now)).toBe('abc.def.ghi');
  });

  it('refuses an expired or nearly expired saved token with a "run gw login" message', () => {
    const env = freshEnv();
    saveToken(env, { token: 'abc', source: 'token', expiresAt: now - 1 });
    expect(() => loadToken(env, now)).toThrow(/saved token expired at .*; run gw login/);
    saveToken(env, { token: 'abc', source: 'token', expiresAt: now + 10 });
    expect(() => loadToken(env, now)).toThrow(/run gw login/);
  });

  it('falls back to the JWT exp when the file has no expiry', () => {
    const env = freshEnv();
    saveToken(env, { token: jwt({ exp: now - 60 }), source: 'token' });
    expect(() => loadToken(env, now)).toThrow(/expired/);
  });

  it('prefers GW_TOKEN and checks its expiry too', () => {
    const env = freshEnv();
    saveToken(env, { token: 'saved', source: 'token', expiresAt: now + 3600 });
    const live = jwt({ exp: now + 3600 });
    expect(loadToken({ ...env, GW_TOKEN: live }, now)).toBe(live);
    expect(() => loadToken({ ...env, GW_TOKEN: jwt({ exp: now }) }, now)).toThrow(/GW_TOKEN expired/);
  });

  it('explains a missing or damaged token file', () => {
    const env = freshEnv();
    expect(() => loadToken(env, now)).toThrow('not logged in: run gw login (or set GW_TOKEN)');
    saveToken(env, { token: 'x', source: 'token' });
    writeFileSync(join(env.GW_CONFIG_DIR, 'token.json'), '{not json');
    expect(() => loadToken(env, now)).toThrow(/not valid JSON; run gw login/);
    writeFileSync(join(env.GW_CONFIG_DIR, 'token.json'), '{"expiresAt": 1}');
    expect(() => loadToken(env, now)).toThrow(/holds no token/);
  });

  it('refuses empty or whitespace tokens on save', () => {
    expect(() => saveToken(freshEnv(), { token: '  ', source: 'token' })).toThrow('the token is empty');
    expect(() => saveToken(freshEnv(), { token: 'a b', source: 'token' })).toThrow(/whitespace/);
  });

  it('reads exp only from a well-formed JWT payload', () => {
    expect(jwtExpiry(jwt({ exp: 123 }))).toBe(123);
    expect(jwtExpiry(jwt({ exp: '123' }))).toBeUndefined();
    expect(jwtExpiry('opaque-token')).toBeUndefined();
    expect(jwtExpiry('a.!!!.c')).toBeUndefined();
  });
});
