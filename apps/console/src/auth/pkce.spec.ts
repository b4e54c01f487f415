import { describe, expect, it } from 'vitest';
import { base64url, isBase64url, pkceChallenge, randomToken } from './pkce.js';

describe('PKCE', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('refuses verifiers that are too short, too long or outside the unreserved set', async () => {
    await expect(pkceChallenge('short')).rejects.toThrow(/43 to 128/);
    await expect(pkceChallenge('a'.repeat(129))).rejects.toThrow(/43 to 128/);
    await expect(pkceChallenge(`${'a'.repeat(42)}+`)).rejects.toThrow(/unreserved/);
  });

  it('makes distinct 43-character base64url tokens', () => {
    const a = randomToken();
    const b = randomToken();
    expect(a).toHaveLength(43);
    expect(isBase64url(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(base64url(new Uint8Array([251, 255, 191]))).toBe('-_-_');
  });
});
