import { z } from 'zod';

export const SSH_MODES = ['certificate', 'fixed'] as const;

/** `ssh-ed25519 AAAA... [comment]`, `ecdsa-sha2-nistp256 ...`, `ssh-rsa ...`: a known host key of the target. */
const hostKeyLine = z
  .string()
  .max(16_384)
  .regex(/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}( .*)?$/, 'expected an OpenSSH public key line, e.g. the target\'s /etc/ssh/ssh_host_ed25519_key.pub');

/**
 * Per-resource options of an `ssh` resource (the `ssh:` block of a resource entry).
 * - `hostKeys`: the target's host keys; a target presenting another key is refused (no trust on first use).
 * - `mode`: `certificate` signs an OpenSSH user certificate per session with the agent's CA (principal =
 *   the login, valid until the session ends, key id naming session and principal). `fixed` logs in with
 *   `credentials.privateKey` for every session (weaker: one long-lived key, and the target's logs name
 *   only the login).
 * - `caKeyFile`: the CA's private key (Ed25519, PKCS#8 PEM), made at first start with mode 0600;
 *   default `<spoolDir>/ssh-ca.key`.
 * - `recordOutputLimitBytes`: terminal and exec output kept in the recording per channel.
 */
export const sshOptionsShape = {
  hostKeys: z.array(hostKeyLine).min(1).max(16),
  mode: z.enum(SSH_MODES).default('certificate'),
  caKeyFile: z.string().min(1).max(1024).optional(),
  recordOutputLimitBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(32 * 1024 * 1024),
};

export const sshOptionsSchema = z.strictObject(sshOptionsShape);
export type SshOptions = z.output<typeof sshOptionsSchema>;

/** The raw key blobs of the configured host key lines (what ssh2's hostVerifier receives). */
export function hostKeyBlobs(lines: readonly string[]): Buffer[] {
  return lines.map((line) => Buffer.from(line.split(' ')[1] ?? '', 'base64'));
}
