import { createHash, publicEncrypt, constants } from 'node:crypto';

/** The plugin name for a password sent as it is (over TLS only): the OIDC token travels this way. */
export const CLEAR_PASSWORD_PLUGIN = 'mysql_clear_password';
export const NATIVE_PASSWORD_PLUGIN = 'mysql_native_password';
export const CACHING_SHA2_PLUGIN = 'caching_sha2_password';

const sha1 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
};
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!;
  return out;
}

/** mysql_native_password: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))). Empty password: empty answer. */
export function nativePasswordResponse(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  return xor(stage1, sha1(scramble.subarray(0, 20), sha1(stage1)));
}

/** caching_sha2_password fast path: SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble). */
export function cachingSha2Response(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  return xor(stage1, sha256(sha256(stage1), scramble.subarray(0, 20)));
}

/** caching_sha2_password full authentication without TLS: the password (NUL-terminated) XOR the scramble, RSA-OAEP with the server's key. */
export function cachingSha2Encrypted(password: string, scramble: Buffer, publicKeyPem: string): Buffer {
  const plain = Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]);
  return publicEncrypt({ key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, xor(plain, scramble.subarray(0, 20)));
}
