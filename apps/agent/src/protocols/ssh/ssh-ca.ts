import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ed25519PublicKeyLine, ed25519RawPublicKey } from './openssh-certificate.js';

/**
 * The agent's SSH certificate authority: an Ed25519 key in a PKCS#8 PEM file, made at first use with
 * mode 0600 and kept. Targets trust its public key with `TrustedUserCAKeys`.
 */
export function loadOrCreateCaKey(path: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the SSH CA key ${path}: ${(error as Error).message}`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    try {
      // 'wx': two agents starting at once must not overwrite each other's CA.
      writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
      pem = readFileSync(path, 'utf8');
    }
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the SSH CA key ${path} is not an Ed25519 key`);
  return key;
}

/** The line to put in the target's `TrustedUserCAKeys` file. */
export function caPublicKeyLine(ca: KeyObject, comment = 'gw-agent-ssh-ca'): string {
  return ed25519PublicKeyLine(ed25519RawPublicKey(ca), comment);
}
