import { createRequire } from 'node:module';
import { randomBytes, type KeyObject } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { ED25519_ALGO, ED25519_CERT_ALGO, signUserCertificate } from './openssh-certificate.js';
import { SshWriter } from './ssh-wire.js';
import { generateEd25519KeyPair } from '@gw/ssh-relay';

/**
 * ssh2 1.17 cannot authenticate with an OpenSSH certificate: its `authPK` writes one algorithm name
 * both as the request's key algorithm and inside the signature, but a certificate login needs
 * `ssh-ed25519-cert-v01@openssh.com` for the first and plain `ssh-ed25519` for the second (sshd's
 * `sshkey_check_sigtype`). This replaces `Protocol.prototype.authPK` for keys that carry a
 * certificate (marked with CERTIFICATE below) and leaves every other key to the original. It uses
 * ssh2's packet writer and `sendPacket`, as the original does; the e2e tests against a real sshd
 * catch any change of those internals when ssh2 is upgraded.
 */
const CERTIFICATE = Symbol('gw.openssh-certificate');

interface ProtocolInternals {
  _kex: { sessionID: Buffer };
  _authsQueue: string[];
  _packetRW: { write: { allocStart: number; alloc: (n: number) => Buffer; finalize: (packet: Buffer) => Buffer } };
  authPK: (this: ProtocolInternals, username: string, pubKey: unknown, keyAlgo?: unknown, cbSign?: unknown) => void;
}
type SignCallback = (data: Buffer, done: (signature: Buffer) => void) => void;

const require = createRequire(import.meta.url);
const Protocol = require('ssh2/lib/protocol/Protocol.js') as { prototype: ProtocolInternals };
const { sendPacket } = require('ssh2/lib/protocol/utils.js') as { sendPacket: (this: void, proto: unknown, packet: Buffer) => boolean };
const USERAUTH_REQUEST = 50;

let installed = false;
function installCertificateAuth(): void {
  if (installed) return;
  installed = true;
  const original = Protocol.prototype.authPK;
  Protocol.prototype.authPK = function authPK(this: ProtocolInternals, username: string, pubKey: unknown, keyAlgo?: unknown, cbSign?: unknown): void {
    const certificate = (pubKey as { [CERTIFICATE]?: Buffer } | null)?.[CERTIFICATE];
    if (!certificate) return original.call(this, username, pubKey, keyAlgo, cbSign);
    const sign = (typeof keyAlgo === 'function' ? keyAlgo : cbSign) as SignCallback | undefined;
    const request = (signed: boolean) =>
      Buffer.concat([
        Buffer.from([USERAUTH_REQUEST]),
        new SshWriter().string(username).string('ssh-connection').string('publickey').toBuffer(),
        Buffer.from([signed ? 1 : 0]),
        new SshWriter().string(ED25519_CERT_ALGO).string(certificate).toBuffer(),
      ]);
    const send = (payload: Buffer) => {
      const w = this._packetRW.write;
      const start = w.allocStart;
      const packet = w.alloc(payload.length);
      payload.copy(packet, start);
      this._authsQueue.push('publickey');
      sendPacket(this, w.finalize(packet));
    };
    if (!sign) return send(request(false));
    const payload = request(true);
    sign(Buffer.concat([new SshWriter().string(this._kex.sessionID).toBuffer(), payload]), (signature) => {
      const blob = new SshWriter().string(ED25519_ALGO).string(signature).toBuffer();
      send(Buffer.concat([payload, new SshWriter().string(blob).toBuffer()]));
    });
  };
}

export interface SessionCertificateRequest {
  login: string;
  sessionId: string;
  principalId: string;
  principalName: string;
  /** Unix seconds: the certificate is not valid after this (the session's end). */
  validBefore: number;
  /** Extensions granted; port forwarding only when policy can still refuse each forward. */
  extensions: readonly string[];
}

export interface SessionCertificate {
  /** Pass as `privateKey` to ssh2's Client: a private key that presents the certificate. */
  key: ParsedKey;
  certificate: Buffer;
  keyId: string;
  serial: bigint;
  validAfter: number;
  validBefore: number;
}

/** Backdating absorbs a target clock that runs a little behind the agent's. */
const CLOCK_SKEW_SECONDS = 60;

/** The key id the target logs: names the gateway session and the principal. */
export function certificateKeyId(sessionId: string, principalId: string, principalName: string): string {
  const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  return `gw session=${sessionId} principal=${clean(principalId)} name="${clean(principalName).replace(/"/g, "'")}"`;
}

/**
 * A fresh Ed25519 key pair for one session and an OpenSSH user certificate for it, signed by the
 * agent's CA: principal = the login, valid from now (minus clock skew) until the session ends.
 * The private key lives only in this process's memory for the session's duration.
 */
export function issueSessionCertificate(ca: KeyObject, req: SessionCertificateRequest, now = Math.floor(Date.now() / 1000)): SessionCertificate {
  installCertificateAuth();
  const pair = generateEd25519KeyPair();
  const parsed = ssh2.utils.parseKey(pair.private);
  if (parsed instanceof Error) throw parsed;
  const publicBlob = parsed.getPublicSSH();
  const serial = randomBytes(8).readBigUInt64BE();
  const keyId = certificateKeyId(req.sessionId, req.principalId, req.principalName);
  const validAfter = now - CLOCK_SKEW_SECONDS;
  const certificate = signUserCertificate(
    { publicKey: publicBlob.subarray(publicBlob.length - 32), serial, keyId, principals: [req.login], validAfter, validBefore: req.validBefore, extensions: req.extensions },
    ca,
  );
  const key = Object.create(parsed) as ParsedKey & { [CERTIFICATE]: Buffer };
  key[CERTIFICATE] = certificate;
  return { key, certificate, keyId, serial, validAfter, validBefore: req.validBefore };
}
