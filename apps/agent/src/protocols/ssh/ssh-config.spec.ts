import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostKeyBlobs, loadHostKeys, sshOptionsSchema } from './ssh-config.js';

const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIK5QoyExampleExampleExampleExampleExample';

describe('ssh resource options', () => {
  it('reads host keys as .pub lines and as ssh-keyscan lines, skipping comments', () => {
    const blobs = hostKeyBlobs([`ssh-ed25519 ${KEY} root@host`, `[10.0.0.7]:22 ssh-ed25519 ${KEY}`, '# a comment', '']);
    expect(blobs).toHaveLength(2);
    expect(blobs[0]!.equals(Buffer.from(KEY, 'base64'))).toBe(true);
  });

  it('needs host keys one way or the other, and says which file is unusable', () => {
    expect(sshOptionsSchema.safeParse({}).success).toBe(false);
    expect(sshOptionsSchema.safeParse({ hostKeysFile: '/etc/ssh/known' }).success).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'gw-hostkeys-'));
    expect(() => loadHostKeys(sshOptionsSchema.parse({ hostKeysFile: join(dir, 'missing') }))).toThrow(/cannot read hostKeysFile .*missing \(ENOENT\)/);
    writeFileSync(join(dir, 'empty'), '# nothing\n');
    expect(() => loadHostKeys(sshOptionsSchema.parse({ hostKeysFile: join(dir, 'empty') }))).toThrow(/holds no host key/);
    writeFileSync(join(dir, 'keys'), `ssh-ed25519 ${KEY}\n`);
    expect(loadHostKeys(sshOptionsSchema.parse({ hostKeys: [`ssh-ed25519 ${KEY}`], hostKeysFile: join(dir, 'keys') }))).toHaveLength(2);
  });
});
