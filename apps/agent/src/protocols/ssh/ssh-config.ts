import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_ACCEPT_ENV } from './env-filter.js';

export const SSH_MODES = ['certificate', 'fixed'] as const;

/** `ssh-ed25519 AAAA... [comment]`, `ecdsa-sha2-nistp256 ...`, `ssh-rsa ...`: a known host key of the target. */
const hostKeyLine = z
  .string()
  .max(16_384)
  .regex(/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}( .*)?$/, 'expected an OpenSSH public key line, e.g. the target\'s /etc/ssh/ssh_host_ed25519_key.pub');

/**
 * Per-resource options of an `ssh` resource (the `ssh:` block of a resource entry).
 * - `hostKeys`: the target's host keys; a target presenting another key is refused (no trust on first use).
 * - `hostKeysFile`: instead of (or besides) `hostKeys`, a file of such lines (`ssh-keyscan` output,
 *   a `.pub` file), read when a session opens, so a target whose key is made later can be named now.
 * - `mode`: `certificate` signs an OpenSSH user certificate per session with the agent's CA (principal =
 *   the login, valid until the session ends, key id naming session and principal). `fixed` logs in with
 *   `credentials.privateKey` for every session (weaker: one long-lived key, and the target's logs name
 *   only the login).
 * - `caKeyFile`: the CA's private key (Ed25519, PKCS#8 PEM), made at first start with mode 0600;
 *   default `<spoolDir>/ssh-ca.key`.
 * - `recordOutputLimitBytes`: terminal and exec output kept in the recording per channel.
 * - `acceptEnv`: the variables a client's `env` requests may pass to the target, as names or prefixes
 *   ending in `*` (like sshd's `AcceptEnv`); default the locale, time zone and colour variables. Variables
 *   that change what runs (`BASH_ENV`, `LD_*`, `PATH`, ...) are never passed (env-filter.ts).
 */
export const sshOptionsShape = {
  hostKeys: z.array(hostKeyLine).max(16).default([]),
  hostKeysFile: z.string().min(1).max(1024).optional(),
  mode: z.enum(SSH_MODES).default('certificate'),
  caKeyFile: z.string().min(1).max(1024).optional(),
  recordOutputLimitBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(32 * 1024 * 1024),
  acceptEnv: z
    .array(z.string().regex(/^(\*|[A-Za-z_][A-Za-z0-9_]*\*?)$/, 'expected a variable name, or a prefix ending in *'))
    .max(64)
    .default([...DEFAULT_ACCEPT_ENV]),
};

export const sshOptionsSchema = z
  .strictObject(sshOptionsShape)
  .refine((o) => o.hostKeys.length > 0 || o.hostKeysFile !== undefined, { message: 'name the target\'s host keys: hostKeys or hostKeysFile', path: ['hostKeys'] });
export type SshOptions = z.output<typeof sshOptionsSchema>;

const KEY_TYPES = /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa)$/;

/**
 * The raw key blobs (what ssh2's hostVerifier receives) of host key lines: `type base64 [comment]`, or
 * `host type base64` as ssh-keyscan writes them. Comments and blank lines are skipped.
 */
export function hostKeyBlobs(lines: readonly string[]): Buffer[] {
  const blobs: Buffer[] = [];
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    const at = fields.findIndex((f) => KEY_TYPES.test(f));
    const key = at >= 0 ? fields[at + 1] : undefined;
    if (key && /^[A-Za-z0-9+/]+={0,2}$/.test(key)) blobs.push(Buffer.from(key, 'base64'));
  }
  return blobs;
}

/** The configured host keys plus those in `hostKeysFile`; throws with a message for the user if the file is unusable. */
export function loadHostKeys(options: SshOptions): Buffer[] {
  const blobs = hostKeyBlobs(options.hostKeys);
  if (options.hostKeysFile) {
    let text: string;
    try {
      text = readFileSync(options.hostKeysFile, 'utf8');
    } catch (error) {
      throw new Error(`cannot read hostKeysFile ${options.hostKeysFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const fromFile = hostKeyBlobs(text.split('\n').slice(0, 1000));
    if (fromFile.length === 0) throw new Error(`hostKeysFile ${options.hostKeysFile} holds no host key`);
    blobs.push(...fromFile);
  }
  return blobs;
}
