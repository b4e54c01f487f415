import { describe, expect, it } from 'vitest';
import { readUnverifiedTokenId } from './unverified.js';

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const token = (payload: unknown) => `${part({ alg: 'RS256' })}.${part(payload)}.c2ln`;

describe('readUnverifiedTokenId', () => {
  it('reads jti, else Entra uti', () => {
    expect(readUnverifiedTokenId(token({ jti: 'abc-123', uti: 'u' }))).toBe('abc-123');
    expect(readUnverifiedTokenId(token({ uti: 'AbC_dE-fg' }))).toBe('AbC_dE-fg');
  });

  it('returns undefined for garbage, absent ids and values unfit for logs', () => {
    expect(readUnverifiedTokenId('not a token')).toBeUndefined();
    expect(readUnverifiedTokenId(token({ sub: 'x' }))).toBeUndefined();
    expect(readUnverifiedTokenId(token({ jti: 'line\nbreak' }))).toBeUndefined();
    expect(readUnverifiedTokenId(token({ jti: 'x'.repeat(500) }))).toBeUndefined();
    expect(readUnverifiedTokenId(token({ jti: 42 }))).toBeUndefined();
  });
});
