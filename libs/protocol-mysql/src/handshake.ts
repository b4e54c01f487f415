import { CAP } from './capabilities.js';
import { MysqlProtocolError } from './errors.js';
import { MysqlReader } from './reader.js';
import { MysqlWriter } from './writer.js';

/** The server's first packet (Protocol::HandshakeV10). */
export interface ServerHandshake {
  serverVersion: string;
  connectionId: number;
  /** The 20-byte scramble (auth-plugin-data parts 1 and 2). */
  scramble: Buffer;
  capabilities: number;
  charset: number;
  status: number;
  authPlugin: string;
}

export function encodeServerHandshake(h: ServerHandshake): Buffer {
  if (h.scramble.length !== 20) throw new MysqlProtocolError('invalid_value', 'the scramble must be 20 bytes');
  const caps = h.capabilities >>> 0;
  return new MysqlWriter(128)
    .u8(10)
    .nulString(h.serverVersion)
    .u32(h.connectionId)
    .bytes(h.scramble.subarray(0, 8))
    .u8(0)
    .u16(caps & 0xffff)
    .u8(h.charset)
    .u16(h.status)
    .u16(caps >>> 16)
    .u8(21) // auth-plugin-data length: 20 bytes + NUL
    .zeros(10)
    .bytes(h.scramble.subarray(8, 20))
    .u8(0)
    .nulString(h.authPlugin)
    .finish();
}

export function parseServerHandshake(payload: Buffer): ServerHandshake {
  const r = new MysqlReader(payload, 0, payload.length, 'server handshake');
  const protocol = r.u8('protocol version');
  if (protocol !== 10) throw new MysqlProtocolError('invalid_value', `server handshake: protocol version ${protocol} is not 10`);
  const serverVersion = r.nulString('server version');
  const connectionId = r.u32('connection id');
  const part1 = r.bytes(8, 'auth-plugin-data-part-1');
  r.skip(1);
  let capabilities = r.u16('capability flags (lower)');
  let charset = 0;
  let status = 0;
  let dataLength = 0;
  let part2: Buffer = Buffer.alloc(0);
  let authPlugin = 'mysql_native_password';
  if (r.remaining > 0) {
    charset = r.u8('character set');
    status = r.u16('status flags');
    capabilities |= r.u16('capability flags (upper)') << 16;
    capabilities >>>= 0;
    dataLength = r.u8('auth-plugin-data length');
    r.skip(10, 'reserved');
    if (capabilities & CAP.SECURE_CONNECTION) {
      part2 = r.bytes(Math.max(13, dataLength - 8), 'auth-plugin-data-part-2');
    }
    if (capabilities & CAP.PLUGIN_AUTH) authPlugin = r.remaining > 0 ? r.restString() : authPlugin;
  }
  // part 2 ends with a NUL that is not part of the scramble.
  const scramble = Buffer.concat([part1, part2.subarray(0, Math.max(0, part2.length - 1))]).subarray(0, 20);
  return { serverVersion, connectionId, scramble: Buffer.from(scramble), capabilities, charset, status, authPlugin };
}

/** What a client sends before TLS: a HandshakeResponse cut after its fixed header, with CLIENT_SSL set. */
export interface SslRequest {
  capabilities: number;
  maxPacketSize: number;
  charset: number;
}

/** The client's answer to the handshake (Protocol::HandshakeResponse41). */
export interface HandshakeResponse extends SslRequest {
  user: string;
  authResponse: Buffer;
  database?: string;
  authPlugin?: string;
  attributes: Map<string, string>;
}

const SSL_REQUEST_LENGTH = 32;

/** True when this client packet is an SSLRequest (the fixed header only, CLIENT_SSL set). */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === SSL_REQUEST_LENGTH && (payload.readUInt32LE(0) & CAP.SSL) !== 0;
}

export function parseSslRequest(payload: Buffer): SslRequest {
  const r = new MysqlReader(payload, 0, payload.length, 'SSL request');
  const capabilities = r.u32('capability flags');
  const maxPacketSize = r.u32('max packet size');
  const charset = r.u8('character set');
  r.skip(23, 'filler');
  r.done();
  return { capabilities, maxPacketSize, charset };
}

const MAX_ATTRIBUTES = 256;

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new MysqlReader(payload, 0, payload.length, 'handshake response');
  const capabilities = r.u32('capability flags');
  if (!(capabilities & CAP.PROTOCOL_41)) throw new MysqlProtocolError('invalid_value', 'handshake response: pre-4.1 clients are not supported');
  const maxPacketSize = r.u32('max packet size');
  const charset = r.u8('character set');
  r.skip(23, 'filler');
  const user = r.nulString('user');
  let authResponse: Buffer;
  if (capabilities & CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = r.lenencBytes('auth response') as Buffer;
  else if (capabilities & CAP.SECURE_CONNECTION) authResponse = r.bytes(r.u8('auth response length'), 'auth response');
  else authResponse = r.nulBytes('auth response');
  const out: HandshakeResponse = { capabilities, maxPacketSize, charset, user, authResponse: Buffer.from(authResponse), attributes: new Map() };
  if (capabilities & CAP.CONNECT_WITH_DB && r.remaining > 0) out.database = r.nulString('database');
  if (capabilities & CAP.PLUGIN_AUTH && r.remaining > 0) out.authPlugin = r.nulString('auth plugin');
  if (capabilities & CAP.CONNECT_ATTRS && r.remaining > 0) {
    const total = r.lenencInt('attributes length');
    const a = new MysqlReader(r.bytes(total, 'attributes'), 0, total, 'connection attributes');
    while (a.remaining > 0) {
      if (out.attributes.size >= MAX_ATTRIBUTES) throw new MysqlProtocolError('limit_exceeded', `more than ${MAX_ATTRIBUTES} connection attributes`);
      out.attributes.set(a.lenencString('attribute name'), a.lenencString('attribute value'));
    }
  }
  // Anything after (MariaDB's extended fields, zstd level) is ignored: the gateway negotiated none of it.
  return out;
}

export function encodeHandshakeResponse(h: HandshakeResponse): Buffer {
  const w = new MysqlWriter(256).u32(h.capabilities).u32(h.maxPacketSize).u8(h.charset).zeros(23).nulString(h.user);
  if (h.capabilities & CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA) w.lenencBytes(h.authResponse);
  else {
    if (h.authResponse.length > 255) throw new MysqlProtocolError('invalid_value', 'auth response over 255 bytes needs PLUGIN_AUTH_LENENC_CLIENT_DATA');
    w.u8(h.authResponse.length).bytes(h.authResponse);
  }
  if (h.capabilities & CAP.CONNECT_WITH_DB) w.nulString(h.database ?? '');
  if (h.capabilities & CAP.PLUGIN_AUTH) w.nulString(h.authPlugin ?? '');
  if (h.capabilities & CAP.CONNECT_ATTRS) {
    const a = new MysqlWriter(128);
    for (const [k, v] of h.attributes) a.lenencString(k).lenencString(v);
    w.lenencBytes(a.finish());
  }
  return w.finish();
}

export function encodeSslRequest(s: SslRequest): Buffer {
  return new MysqlWriter(32).u32(s.capabilities | CAP.SSL).u32(s.maxPacketSize).u8(s.charset).zeros(23).finish();
}

/** AuthSwitchRequest (0xfe): the server asks the client to answer with another plugin. */
export function encodeAuthSwitch(plugin: string, data: Buffer): Buffer {
  return new MysqlWriter(64).u8(0xfe).nulString(plugin).bytes(data).finish();
}

export function parseAuthSwitch(payload: Buffer): { plugin: string; data: Buffer } {
  const r = new MysqlReader(payload, 0, payload.length, 'auth switch request');
  if (r.u8('header') !== 0xfe) throw new MysqlProtocolError('invalid_value', 'auth switch request does not start with 0xfe');
  const plugin = r.nulString('plugin name');
  return { plugin, data: Buffer.from(r.rest()) };
}
