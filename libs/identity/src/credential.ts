/**
 * One credential string that carries the bearer token and, optionally, a process attestation:
 * `<token>~<attestation>`. `~` is allowed in an RFC 6750 bearer token but never occurs in a compact
 * JWS, so the split is unambiguous; this lets clients that have a single secret field (a Postgres
 * password, an SSH password, a kubeconfig token) present both.
 */
export const ATTESTATION_SEPARATOR = '~';

export function splitCredential(credential: string): { token: string; attestation?: string } {
  const at = credential.indexOf(ATTESTATION_SEPARATOR);
  if (at < 0) return { token: credential };
  return { token: credential.slice(0, at), attestation: credential.slice(at + 1) };
}
