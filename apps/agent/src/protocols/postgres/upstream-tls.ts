import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { z } from 'zod';

/**
 * TLS from the agent to the database, with libpq's sslmode names and meanings:
 * - `disable`: never.
 * - `prefer` (default, like libpq): TLS when the server offers it, unverified; plaintext otherwise.
 * - `require`: TLS or no connection, certificate not verified.
 * - `verify-ca`: TLS, certificate signed by `caFile` (or the system CAs).
 * - `verify-full`: as verify-ca, and the certificate names the host (or `serverName`).
 * Only the verify modes resist an attacker inside the segment; `prefer` and `require` only resist a
 * passive listener.
 */
export const UPSTREAM_TLS_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type UpstreamTlsMode = (typeof UPSTREAM_TLS_MODES)[number];

export const upstreamTlsShape = z.strictObject({
  mode: z.enum(UPSTREAM_TLS_MODES).default('prefer'),
  /** PEM file with the CA certificate(s) that sign the database's certificate. */
  caFile: z.string().min(1).max(1024).optional(),
  /** Name expected in the certificate when it differs from the address's host (verify-full). */
  serverName: z.string().min(1).max(253).optional(),
});
export type UpstreamTlsConfig = z.output<typeof upstreamTlsShape>;

export const DEFAULT_UPSTREAM_TLS: UpstreamTlsConfig = { mode: 'prefer' };

/** What a connection to this resource does: no TLS, TLS if offered, or TLS required with these options. */
export type UpstreamTls = { use: 'never' } | { use: 'if-offered' | 'always'; options: ConnectionOptions };

/** SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export class UpstreamTlsError extends Error {}

/** Resolves the config once per resource (reads the CA file; a missing file is a clear error). */
export function upstreamTls(config: UpstreamTlsConfig, host: string): UpstreamTls {
  if (config.mode === 'disable') return { use: 'never' };
  const options: ConnectionOptions = { servername: config.serverName ?? (isIpAddress(host) ? undefined : host) };
  if (config.mode === 'prefer' || config.mode === 'require') {
    options.rejectUnauthorized = false;
    return { use: config.mode === 'prefer' ? 'if-offered' : 'always', options };
  }
  if (config.caFile) {
    try {
      options.ca = readFileSync(config.caFile);
    } catch (error) {
      throw new UpstreamTlsError(`cannot read tls.caFile ${config.caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  options.rejectUnauthorized = true;
  if (config.mode === 'verify-ca') options.checkServerIdentity = () => undefined;
  if (config.mode === 'verify-full' && !config.serverName && isIpAddress(host)) {
    // Node checks an IP address against the certificate's IP SANs when no servername is set.
    options.host = host;
  }
  return { use: 'always', options };
}

/**
 * Sends SSLRequest on a connected socket and, when the server agrees, upgrades it. Resolves with the
 * socket to speak the protocol on (the TLS socket, or the same plain one when TLS is not used).
 */
export function negotiateTls(socket: Socket, tls: UpstreamTls): Promise<Socket> {
  if (tls.use === 'never') return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      // Removed at once; nothing is lost: the server sends nothing more until the client speaks.
      socket.removeListener('data', onData);
      // Anything after the one-byte answer would be unencrypted data injected before the handshake.
      if (chunk.length !== 1) return reject(new UpstreamTlsError('the database answered the TLS request with unexpected data'));
      if (chunk[0] === 0x4e /* N */) {
        if (tls.use === 'always') return reject(new UpstreamTlsError('the database does not offer TLS, and the resource requires it'));
        return resolve(socket);
      }
      if (chunk[0] !== 0x53 /* S */) return reject(new UpstreamTlsError('the database answered the TLS request with an unknown byte'));
      const secure = tlsConnect({ ...tls.options, socket });
      secure.once('secureConnect', () => {
        secure.removeListener('error', onTlsError);
        resolve(secure);
      });
      const onTlsError = (error: Error): void => reject(new UpstreamTlsError(`TLS to the database failed: ${error.message}`));
      secure.once('error', onTlsError);
    };
    socket.on('data', onData);
    socket.write(SSL_REQUEST);
  });
}

/** Asks the server whether it offers TLS (for `prefer`: decides how the admin pool connects). */
export function serverOffersTls(host: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timed out asking the database about TLS')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (chunk: Buffer) => {
      resolve(chunk[0] === 0x53);
      socket.destroy();
    });
  });
}

/** The `ssl` option of a node-postgres pool for this resource. */
export async function poolSslOption(tls: UpstreamTls, host: string, port: number): Promise<false | ConnectionOptions> {
  if (tls.use === 'never') return false;
  if (tls.use === 'if-offered' && !(await serverOffersTls(host, port))) return false;
  return tls.options;
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
