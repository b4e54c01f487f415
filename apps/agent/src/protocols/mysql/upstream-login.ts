import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  CACHING_SHA2_PLUGIN, CAP, CLEAR_PASSWORD_PLUGIN, FORMAT_CAPABILITIES, NATIVE_PASSWORD_PLUGIN, PacketFramer, cachingSha2Encrypted, cachingSha2Response,
  encodeHandshakeResponse, encodeSslRequest, isErr, isOk, nativePasswordResponse, packet, parseAuthSwitch, parseErr, parseServerHandshake, type ServerHandshake,
} from '@gw/protocol-mysql';
import type { UpstreamTls } from '../postgres/upstream-tls.js';

const LOGIN_TIMEOUT_MS = 15_000;

export class UpstreamLoginError extends Error {
  constructor(
    /** The MySQL error code for the client (the server's own, or 2003/2013 for a network failure). */
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface UpstreamSession {
  socket: Socket;
  /** The database's connection id for this session (what `KILL QUERY` names upstream). */
  threadId: number;
  handshake: ServerHandshake;
  /** Bytes the server sent after its OK (none in practice; kept so nothing is lost). */
  rest: Buffer;
}

export interface UpstreamLoginOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  schema: string | null;
  /** What the client and the gateway agreed on; the database must speak the same result format. */
  capabilities: number;
  charset: number;
  attributes: Record<string, string>;
  /** TLS to the database (resource `mysql.tls`); default none. */
  tls?: UpstreamTls;
}

/**
 * Opens a session on the database speaking the client's capabilities (over TLS when the resource
 * asks for it: SSLRequest, then the handshake), and logs in with mysql_native_password or
 * caching_sha2_password (fast path, or full authentication: the password encrypted with the server's
 * RSA key, or as it is inside TLS), following an auth switch. Ends once the server's OK arrives.
 */
export async function loginUpstream(o: UpstreamLoginOptions): Promise<UpstreamSession> {
  const plain = connect({ host: o.host, port: o.port });
  plain.setNoDelay(true);
  let socket: Socket = plain;
  const framer = new PacketFramer();
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const listen = (s: Socket, networkError: (error: Error) => UpstreamLoginError): void => {
    s.on('data', (chunk: Buffer) => {
      try {
        for (const p of framer.push(chunk)) queue.push(Buffer.concat([Buffer.from([p.lastSeq]), p.payload]));
      } catch (error) {
        failure = error as Error;
      }
      wake?.();
    });
    s.on('error', (error) => {
      failure ??= networkError(error);
      wake?.();
    });
    s.on('close', () => {
      failure ??= new UpstreamLoginError(2013, 'the database closed the connection during login');
      wake?.();
    });
  };
  listen(plain, (error) => new UpstreamLoginError(2003, `cannot reach the database at ${o.host}:${o.port}: ${error.message}`));
  const timer = setTimeout(() => {
    failure = new UpstreamLoginError(2013, 'the database did not complete the login in time');
    plain.destroy(); // also ends a TLS handshake that hangs
    wake?.();
  }, LOGIN_TIMEOUT_MS);
  let seq = 0;
  const next = async (): Promise<Buffer> => {
    while (queue.length === 0) {
      if (failure) throw failure;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    const item = queue.shift()!;
    seq = item[0]!;
    return item.subarray(1);
  };
  const send = (payload: Buffer): void => {
    seq = (seq + 1) & 0xff;
    socket.write(packet(payload, seq));
  };
  try {
    const handshake = parseServerHandshake(await next());
    const needed = o.capabilities & FORMAT_CAPABILITIES;
    if ((handshake.capabilities & needed) !== needed) {
      throw new UpstreamLoginError(1043, 'the database does not support the protocol features the gateway relays (4.1 protocol, DEPRECATE_EOF, multi-results)');
    }
    let capabilities = (o.capabilities & handshake.capabilities) | CAP.PROTOCOL_41 | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA;
    capabilities &= ~(CAP.SSL | CAP.COMPRESS | CAP.LOCAL_FILES);
    if (o.schema) capabilities |= CAP.CONNECT_WITH_DB;
    else capabilities &= ~CAP.CONNECT_WITH_DB;
    if (!(handshake.capabilities & CAP.CONNECT_ATTRS)) capabilities &= ~CAP.CONNECT_ATTRS;
    const tls = o.tls?.use === 'never' ? undefined : o.tls;
    const secured = tls !== undefined;
    if (tls) {
      if (!(handshake.capabilities & CAP.SSL)) throw new UpstreamLoginError(2026, 'the database does not offer TLS, and the resource requires it (mysql.tls)');
      capabilities |= CAP.SSL;
      send(encodeSslRequest({ capabilities, maxPacketSize: 64 * 1024 * 1024, charset: o.charset || 45 }));
      // The server says nothing until the TLS handshake: nothing read so far belongs to the session.
      plain.removeAllListeners('data');
      plain.removeAllListeners('close');
      plain.removeAllListeners('error');
      plain.on('error', () => undefined);
      socket = await startTls(plain, tls);
      listen(socket, (error) => new UpstreamLoginError(2013, `TLS connection to the database failed: ${error.message}`));
    }
    let plugin = handshake.authPlugin === CACHING_SHA2_PLUGIN ? CACHING_SHA2_PLUGIN : NATIVE_PASSWORD_PLUGIN;
    let scramble = handshake.scramble;
    send(
      encodeHandshakeResponse({
        capabilities,
        maxPacketSize: 64 * 1024 * 1024,
        charset: o.charset || 45,
        user: o.user,
        authResponse: answer(plugin, o.password, scramble),
        ...(o.schema ? { database: o.schema } : {}),
        authPlugin: plugin,
        attributes: new Map(Object.entries({ ...o.attributes, _gateway: 'gw-agent' })),
      }),
    );
    for (;;) {
      const p = await next();
      if (isOk(p)) {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        socket.pause();
        return { socket, threadId: handshake.connectionId, handshake, rest: framer.takeRest() };
      }
      if (isErr(p)) {
        const err = parseErr(p);
        throw new UpstreamLoginError(err.code, err.message);
      }
      if (p[0] === 0xfe) {
        const sw = parseAuthSwitch(p);
        if (sw.plugin !== NATIVE_PASSWORD_PLUGIN && sw.plugin !== CACHING_SHA2_PLUGIN && !(secured && sw.plugin === CLEAR_PASSWORD_PLUGIN)) {
          // mysql_clear_password only inside TLS: otherwise the password would cross the network as it is.
          throw new UpstreamLoginError(1251, `the database asks for the ${sw.plugin} authentication plugin, which the gateway agent does not speak`);
        }
        plugin = sw.plugin;
        scramble = sw.data.subarray(0, 20);
        send(answer(plugin, o.password, scramble));
        continue;
      }
      if (p[0] === 0x01 && plugin === CACHING_SHA2_PLUGIN) {
        if (p[1] === 0x03) continue; // fast authentication succeeded; the OK follows
        if (p[1] === 0x04 && secured) {
          // Full authentication inside TLS: the password as it is, NUL-terminated (the spec's secure-transport path).
          send(Buffer.from(`${o.password}\0`, 'utf8'));
          continue;
        }
        if (p[1] === 0x04) {
          // Full authentication without TLS: ask for the server's public key, send the password encrypted with it.
          send(Buffer.from([0x02]));
          const key = await next();
          if (key[0] !== 0x01) throw new UpstreamLoginError(2013, 'the database did not send its public key');
          send(cachingSha2Encrypted(o.password, scramble, key.subarray(1).toString('ascii')));
          continue;
        }
      }
      throw new UpstreamLoginError(2027, 'unexpected packet from the database during login');
    }
  } catch (error) {
    clearTimeout(timer);
    socket.destroy();
    plain.destroy();
    if (error instanceof UpstreamLoginError) throw error;
    throw new UpstreamLoginError(2027, `malformed login exchange with the database: ${(error as Error).message}`);
  }
}

/** The TLS handshake on the connected socket, verified as the resource's `mysql.tls` says. */
function startTls(plain: Socket, tls: Exclude<UpstreamTls, { use: 'never' }>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({ ...tls.options, socket: plain });
    const onError = (error: Error): void => reject(new UpstreamLoginError(2026, `TLS to the database failed: ${error.message}`));
    const onClose = (): void => reject(new UpstreamLoginError(2013, 'the database closed the connection during the TLS handshake'));
    secure.once('error', onError);
    secure.once('close', onClose);
    secure.once('secureConnect', () => {
      secure.removeListener('error', onError);
      secure.removeListener('close', onClose);
      resolve(secure);
    });
  });
}

function answer(plugin: string, password: string, scramble: Buffer): Buffer {
  if (plugin === CACHING_SHA2_PLUGIN) return cachingSha2Response(password, scramble);
  if (plugin === CLEAR_PASSWORD_PLUGIN) return Buffer.from(`${password}\0`, 'utf8');
  return nativePasswordResponse(password, scramble);
}
