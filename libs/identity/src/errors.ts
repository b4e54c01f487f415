/**
 * Why a bearer token was refused. The code is stable (callers map it per transport with an exhaustive
 * switch); the reason is for humans and logs and never contains the token or untrusted claim values.
 */
export const TOKEN_REJECTION_CODES = [
  'malformed',
  'signature_invalid',
  'algorithm_not_allowed',
  'expired',
  'not_yet_valid',
  'issued_in_future',
  'issuer_untrusted',
  'audience_mismatch',
  'tenant_not_allowed',
  'claim_missing',
  'key_not_found',
  'discovery_failed',
  /** A process attestation that is not accepted for this principal (wrong issuer, rule, run). */
  'attestation_refused',
] as const;
export type TokenRejectionCode = (typeof TOKEN_REJECTION_CODES)[number];

export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';

  constructor(
    readonly code: TokenRejectionCode,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`token rejected (${code}): ${reason}`, options);
  }
}

/** Largest description we put into a header; longer reasons are cut. */
const MAX_DESCRIPTION_LENGTH = 200;

/**
 * RFC 6750 §3 `WWW-Authenticate` value for a refused token. error_description may only hold
 * %x20-21 / %x23-5B / %x5D-7E, so quotes, backslashes and non-ASCII are replaced.
 * Without an error (no token presented at all) only the realm is sent, as the RFC asks.
 */
export function buildWwwAuthenticate(error?: TokenRejectedError | { reason: string }, realm = 'gateway'): string {
  const safeRealm = toHeaderSafe(realm);
  if (error === undefined) return `Bearer realm="${safeRealm}"`;
  const description = toHeaderSafe(error.reason).slice(0, MAX_DESCRIPTION_LENGTH);
  return `Bearer realm="${safeRealm}", error="invalid_token", error_description="${description}"`;
}

function toHeaderSafe(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'");
}
