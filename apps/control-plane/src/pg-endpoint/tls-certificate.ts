import { execFile } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Where it came from, for the startup log. */
  source: string;
}

/**
 * The Postgres endpoint's certificate: the configured files, or for development a self-signed
 * one made at first start with the system's openssl and kept in the data directory.
 */
export async function loadOrCreateCertificate(opts: { certFile?: string; keyFile?: string; dataDir: string; hostnames: string[]; name?: string; envPrefix?: string }): Promise<TlsMaterial> {
  if (opts.certFile && opts.keyFile) {
    return { cert: await readFile(opts.certFile), key: await readFile(opts.keyFile), source: opts.certFile };
  }
  const dir = join(opts.dataDir, 'tls');
  const name = opts.name ?? 'pg-endpoint';
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const exists = await stat(certFile).then(() => true, () => false);
  if (!exists) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const san = opts.hostnames.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '825', '-subj', '/CN=gateway-dev',
      '-addext', `subjectAltName=${san}`,
    ]).catch((error: unknown) => {
      throw new Error(`could not create a self-signed certificate with openssl (${String(error)}); set ${opts.envPrefix ?? 'PG'}_TLS_CERT_FILE and ${opts.envPrefix ?? 'PG'}_TLS_KEY_FILE`);
    });
  }
  return { cert: await readFile(certFile), key: await readFile(keyFile), source: `${certFile} (self-signed, development)` };
}
