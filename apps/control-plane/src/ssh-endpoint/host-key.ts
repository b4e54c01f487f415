import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import ssh2 from 'ssh2';
import { generateEd25519KeyPair } from '@gw/ssh-relay';

/**
 * The SSH endpoint's host key: the configured file, or an Ed25519 key made at first start in the data
 * directory (mode 0600) and kept, so clients see the same host key after a restart.
 */
export async function loadOrCreateHostKey(opts: { file?: string; dataDir: string }): Promise<{ key: Buffer; source: string; fingerprintLine: string }> {
  const file = opts.file ?? join(opts.dataDir, 'ssh', 'host_ed25519_key');
  let key: Buffer;
  try {
    key = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || opts.file) {
      throw new Error(`cannot read the SSH host key ${file}: ${(error as Error).message}`);
    }
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const pair = generateEd25519KeyPair('gateway ssh endpoint');
    // 'wx': two replicas starting at once keep whichever key was written first.
    await writeFile(file, pair.private, { mode: 0o600, flag: 'wx' }).catch((raced: NodeJS.ErrnoException) => {
      if (raced.code !== 'EEXIST') throw raced;
    });
    key = await readFile(file);
  }
  const parsed = ssh2.utils.parseKey(key);
  if (parsed instanceof Error) throw new Error(`the SSH host key ${file} cannot be parsed: ${parsed.message}`);
  return { key, source: file, fingerprintLine: `${parsed.type} ${parsed.getPublicSSH().toString('base64')}` };
}
