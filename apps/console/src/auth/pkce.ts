/** RFC 7636 PKCE and the random values of an authorization request, with the browser's Web Crypto. */

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 random bytes as base64url: 43 characters, the shortest verifier RFC 7636 allows with full entropy. */
export function randomToken(bytes = 32): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return base64url(buf);
}

/** The S256 challenge of a verifier (43 to 128 characters of the unreserved set). */
export async function pkceChallenge(verifier: string): Promise<string> {
  if (verifier.length < 43 || verifier.length > 128 || !/^[A-Za-z0-9._~-]+$/.test(verifier)) {
    throw new Error('a PKCE verifier is 43 to 128 unreserved characters');
  }
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function isBase64url(text: string): boolean {
  return BASE64URL.test(text);
}
