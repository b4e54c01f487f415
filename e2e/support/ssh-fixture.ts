import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caPublicKeyLine, loadOrCreateCaKey } from '@gw/agent';
import { startSshd, type Sshd } from './sshd.js';
import type { StackResource } from './stack.js';
import { generateEd25519KeyPair } from '@gw/ssh-relay';

/** An sshd target that trusts a fresh agent CA, and the agent resource entries that point at it. */
export interface SshTarget {
  sshd: Sshd;
  caKeyFile: string;
  caPublicKey: string;
  /** `hostKeysFile: true` names the target's key by file (the sshd's .pub) rather than inline. */
  resource(name: string, labels?: Record<string, string>, address?: string, opts?: { hostKeysFile?: boolean; acceptEnv?: string[] }): StackResource;
  /** The weaker fallback: one fixed key (in the target's authorized_keys) for every session. */
  fixedKeyResource(name: string): StackResource;
}

export async function startSshTarget(): Promise<SshTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-ssh-ca-'));
  const caKeyFile = join(dir, 'ssh-ca.key');
  const caPublicKey = caPublicKeyLine(loadOrCreateCaKey(caKeyFile));
  const fixedKey = generateEd25519KeyPair();
  const sshd = await startSshd({ caPublicKey, authorizedKey: fixedKey.public });
  return {
    sshd,
    caKeyFile,
    caPublicKey,
    resource: (name, labels = {}, address = sshd.address, opts = {}) => ({
      name,
      type: 'ssh',
      address,
      labels,
      extra: { ssh: { ...(opts.hostKeysFile ? { hostKeysFile: join(sshd.dir, 'host_key.pub') } : { hostKeys: [sshd.hostKey] }), caKeyFile, ...(opts.acceptEnv ? { acceptEnv: opts.acceptEnv } : {}) } },
    }),
    fixedKeyResource: (name) => ({
      name,
      type: 'ssh',
      address: sshd.address,
      labels: {},
      extra: { ssh: { hostKeys: [sshd.hostKey], mode: 'fixed' }, credentials: { privateKey: `literal:${fixedKey.private}` } },
    }),
  };
}
