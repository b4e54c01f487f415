import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { SshReader, SshWriter } from './ssh-wire.js';

/** The certificate algorithm of PROTOCOL.certkeys for an Ed25519 subject key. */
export const ED25519_CERT_ALGO = 'ssh-ed25519-cert-v01@openssh.com';
export const ED25519_ALGO = 'ssh-ed25519';
const SSH_CERT_TYPE_USER = 1;

/** A user certificate's content, before signing. Times are Unix seconds. */
export interface UserCertificateFields {
  /** The 32-byte Ed25519 public key being certified. */
  publicKey: Buffer;
  serial: bigint;
  /** Shown in the target's auth log ("ID <keyId> (serial N) CA ..."). */
  keyId: string;
  principals: readonly string[];
  validAfter: number;
  validBefore: number;
  /** Extension names without data (`permit-pty` ...); written sorted, as OpenSSH requires. */
  extensions: readonly string[];
  /** Critical options with string data (`force-command`, `source-address`); written sorted. */
  criticalOptions?: Readonly<Record<string, string>>;
}

/** The raw 32-byte public key of an Ed25519 key object. */
export function ed25519RawPublicKey(key: KeyObject): Buffer {
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

/** The SSH public key blob (`string "ssh-ed25519", string key`). */
export function ed25519PublicBlob(rawPublicKey: Buffer): Buffer {
  return new SshWriter().string(ED25519_ALGO).string(rawPublicKey).toBuffer();
}

/** One `authorized_keys` / `TrustedUserCAKeys` line. */
export function ed25519PublicKeyLine(rawPublicKey: Buffer, comment: string): string {
  return `${ED25519_ALGO} ${ed25519PublicBlob(rawPublicKey).toString('base64')} ${comment}`;
}

function namedList(entries: readonly (readonly [string, Buffer])[]): Buffer {
  const w = new SshWriter();
  for (const [name, data] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) w.string(name).string(data);
  return w.toBuffer();
}

/**
 * Encodes and signs an OpenSSH user certificate (PROTOCOL.certkeys, `ssh-ed25519-cert-v01`), signed
 * by an Ed25519 CA key. Returns the certificate blob, which goes on the wire in place of a public key.
 */
export function signUserCertificate(fields: UserCertificateFields, caPrivateKey: KeyObject): Buffer {
  if (fields.publicKey.length !== 32) throw new Error('an Ed25519 public key has 32 bytes');
  if (fields.principals.length === 0) throw new Error('a certificate without principals is valid for every login; refused');
  if (fields.validBefore <= fields.validAfter) throw new Error('validBefore must be after validAfter');
  const options = Object.entries(fields.criticalOptions ?? {}).map(([k, v]) => [k, new SshWriter().string(v).toBuffer()] as const);
  const extensions = fields.extensions.map((name) => [name, Buffer.alloc(0)] as const);
  const principals = new SshWriter();
  for (const p of fields.principals) principals.string(p);
  const caBlob = ed25519PublicBlob(ed25519RawPublicKey(caPrivateKey));
  const body = new SshWriter()
    .string(ED25519_CERT_ALGO)
    .string(randomBytes(32))
    .string(fields.publicKey)
    .uint64(fields.serial)
    .uint32(SSH_CERT_TYPE_USER)
    .string(fields.keyId)
    .string(principals.toBuffer())
    .uint64(BigInt(fields.validAfter))
    .uint64(BigInt(fields.validBefore))
    .string(namedList(options))
    .string(namedList(extensions))
    .string(Buffer.alloc(0))
    .string(caBlob)
    .toBuffer();
  const signature = new SshWriter().string(ED25519_ALGO).string(sign(null, body, caPrivateKey)).toBuffer();
  return Buffer.concat([body, new SshWriter().string(signature).toBuffer()]);
}

/** The fields a reader of a certificate cares about (tests and recordings). */
export interface DecodedCertificate {
  algorithm: string;
  publicKey: Buffer;
  serial: bigint;
  type: number;
  keyId: string;
  principals: string[];
  validAfter: number;
  validBefore: number;
  extensions: string[];
  signatureKey: Buffer;
}

export function decodeCertificate(blob: Buffer): DecodedCertificate {
  const r = new SshReader(blob);
  const algorithm = r.text(64);
  if (algorithm !== ED25519_CERT_ALGO) throw new Error(`unsupported certificate type ${algorithm}`);
  r.bytes(64); // nonce
  const publicKey = r.bytes(32);
  const serial = r.uint64();
  const type = r.uint32();
  const keyId = r.text(1024);
  const principals: string[] = [];
  const pr = new SshReader(r.bytes());
  while (pr.remaining > 0) principals.push(pr.text(1024));
  const validAfter = Number(r.uint64());
  const validBefore = Number(r.uint64());
  r.bytes(); // critical options
  const extensions: string[] = [];
  const er = new SshReader(r.bytes());
  while (er.remaining > 0) {
    extensions.push(er.text(256));
    er.bytes();
  }
  r.bytes(); // reserved
  const signatureKey = r.bytes();
  return { algorithm, publicKey, serial, type, keyId, principals, validAfter, validBefore, extensions, signatureKey };
}
