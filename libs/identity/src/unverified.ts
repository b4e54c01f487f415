import { decodeJwt } from 'jose';

/** Same cap as the verifier: anything longer is not a token we would ever accept. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
const TOKEN_ID_PATTERN = /^[A-Za-z0-9._~+/=:-]{1,128}$/;

/**
 * `jti` (or Entra `uti`) of a token that has NOT been verified, so a refused token can be correlated
 * with the IdP's sign-in logs. The value is attacker-controlled: use it for logging only, never for a
 * decision. Returns undefined for anything that does not look like a plain token id; never throws.
 */
export function readUnverifiedTokenId(token: string): string | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(token);
  } catch {
    return undefined;
  }
  for (const claim of ['jti', 'uti']) {
    const value = payload[claim];
    if (typeof value === 'string' && TOKEN_ID_PATTERN.test(value)) return value;
  }
  return undefined;
}
