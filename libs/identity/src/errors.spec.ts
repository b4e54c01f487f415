import { describe, expect, it } from 'vitest';
import { buildWwwAuthenticate, TokenRejectedError } from './errors.js';

describe('buildWwwAuthenticate', () => {
  it('builds the RFC 6750 invalid_token challenge', () => {
    expect(buildWwwAuthenticate(new TokenRejectedError('expired', 'the token has expired'))).toBe(
      'Bearer realm="gateway", error="invalid_token", error_description="the token has expired"',
    );
  });

  it('sends only the realm when no token was presented', () => {
    expect(buildWwwAuthenticate()).toBe('Bearer realm="gateway"');
  });

  it('keeps quotes, backslashes, control and non-ASCII characters out of the header', () => {
    const header = buildWwwAuthenticate({ reason: 'claim "sub"\\ is\r\nmissing é' });
    expect(header).toBe('Bearer realm="gateway", error="invalid_token", error_description="claim \'sub\'\' is\'\'missing \'"');
  });

  it('caps the description length', () => {
    expect(buildWwwAuthenticate({ reason: 'x'.repeat(1000) }).length).toBeLessThan(300);
  });
});
