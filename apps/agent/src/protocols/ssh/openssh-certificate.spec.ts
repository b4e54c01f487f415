import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCertificate, ed25519PublicBlob, ed25519RawPublicKey, ED25519_CERT_ALGO, signUserCertificate } from './openssh-certificate.js';
import { certificateKeyId } from './certificate-auth.js';
import { SshReader } from './ssh-wire.js';

const ca = generateKeyPairSync('ed25519').privateKey;
const subject = ed25519RawPublicKey(generateKeyPairSync('ed25519').publicKey);
const fields = {
  publicKey: subject,
  serial: 0xfedcba9876543210n,
  keyId: 'gw session=abc principal=p1 name="AI Agent"',
  principals: ['deploy'],
  validAfter: 1_800_000_000,
  validBefore: 1_800_003_600,
  extensions: ['permit-pty', 'permit-port-forwarding'],
};

describe('OpenSSH user certificates', () => {
  it('is read back by ssh-keygen -L with every field as signed', () => {
    const cert = signUserCertificate(fields, ca);
    const file = join(mkdtempSync(join(tmpdir(), 'gw-cert-')), 'id-cert.pub');
    writeFileSync(file, `${ED25519_CERT_ALGO} ${cert.toString('base64')} test\n`);
    const out = execFileSync('ssh-keygen', ['-L', '-f', file], { env: { ...process.env, TZ: 'UTC' } }).toString();
    expect(out).toContain('Type: ssh-ed25519-cert-v01@openssh.com user certificate');
    expect(out).toContain(`Key ID: "${fields.keyId}"`);
    expect(out).toContain(`Serial: ${0xfedcba9876543210n}`);
    expect(out).toMatch(/Principals: \n\s+deploy\n/);
    expect(out).toContain('Valid: from 2027-01-15T08:00:00 to 2027-01-15T09:00:00');
    expect(out).toMatch(/Extensions: \n\s+permit-port-forwarding\n\s+permit-pty\n/);
    expect(out).toContain('Critical Options: (none)');
  });

  it('decodes to the same fields, names the CA, and its signature verifies with the CA key', () => {
    const cert = signUserCertificate(fields, ca);
    const decoded = decodeCertificate(cert);
    expect(decoded).toMatchObject({ algorithm: ED25519_CERT_ALGO, serial: fields.serial, type: 1, keyId: fields.keyId, principals: ['deploy'], validAfter: fields.validAfter, validBefore: fields.validBefore, extensions: ['permit-port-forwarding', 'permit-pty'] });
    expect(decoded.publicKey.equals(subject)).toBe(true);
    expect(decoded.signatureKey.equals(ed25519PublicBlob(ed25519RawPublicKey(ca)))).toBe(true);
    // The signature is the last field: string(string "ssh-ed25519", string sig) over everything before it.
    expect(cert.readUInt32BE(cert.length - 4 - 83)).toBe(83); // 4 + "ssh-ed25519" + 4 + 64
    const body = cert.subarray(0, cert.length - 4 - 83);
    const sig = new SshReader(cert.subarray(cert.length - 83));
    expect(sig.text()).toBe('ssh-ed25519');
    expect(verify(null, body, ca, sig.bytes())).toBe(true);
  });

  it('refuses certificates that would be valid for every login or never valid', () => {
    expect(() => signUserCertificate({ ...fields, principals: [] }, ca)).toThrow(/every login/);
    expect(() => signUserCertificate({ ...fields, validBefore: fields.validAfter }, ca)).toThrow(/validBefore/);
    expect(() => signUserCertificate({ ...fields, publicKey: Buffer.alloc(31) }, ca)).toThrow(/32 bytes/);
  });

  it('puts only printable ASCII in the key id the target logs', () => {
    expect(certificateKeyId('sid-1', 'iss#oid', 'Bob "the" Builder\n\u00e9')).toBe('gw session=sid-1 principal=iss#oid name="Bob \'the\' Builder??"');
  });
});
