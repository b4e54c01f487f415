import { describe, expect, it } from 'vitest';
import { CAP, GATEWAY_CAPABILITIES } from './capabilities.js';
import {
  encodeAuthSwitch, encodeHandshakeResponse, encodeServerHandshake, encodeSslRequest, isSslRequest, parseAuthSwitch, parseHandshakeResponse,
  parseServerHandshake, type HandshakeResponse,
} from './handshake.js';
import { MysqlProtocolError } from './errors.js';
import { nativePasswordResponse } from './auth.js';

const scramble = Buffer.from('0123456789abcdefghij');

describe('server handshake', () => {
  it('round-trips', () => {
    const h = { serverVersion: '10.11.0-gateway', connectionId: 77, scramble, capabilities: GATEWAY_CAPABILITIES, charset: 45, status: 2, authPlugin: 'mysql_native_password' };
    expect(parseServerHandshake(encodeServerHandshake(h))).toEqual(h);
  });

  it('fails on every truncation with a protocol error, never a RangeError', () => {
    const wire = encodeServerHandshake({ serverVersion: 'x', connectionId: 1, scramble, capabilities: GATEWAY_CAPABILITIES, charset: 45, status: 2, authPlugin: 'p' });
    for (let cut = 0; cut < 40; cut++) {
      try {
        parseServerHandshake(wire.subarray(0, cut));
      } catch (error) {
        expect(error).toBeInstanceOf(MysqlProtocolError);
      }
    }
  });
});

describe('handshake response', () => {
  const response: HandshakeResponse = {
    capabilities: GATEWAY_CAPABILITIES & ~CAP.SSL,
    maxPacketSize: 16 * 1024 * 1024,
    charset: 45,
    user: 'app@demo-mariadb',
    authResponse: nativePasswordResponse('secret', scramble),
    database: 'shop',
    authPlugin: 'mysql_native_password',
    attributes: new Map([['_client_name', 'libmariadb'], ['program_name', 'mariadb']]),
  };

  it('round-trips with every optional part', () => {
    expect(parseHandshakeResponse(encodeHandshakeResponse(response))).toEqual(response);
  });

  it('carries an auth response over 250 bytes (a token) with the length-encoded form', () => {
    const long = { ...response, authResponse: Buffer.alloc(3000, 0x41) };
    expect(parseHandshakeResponse(encodeHandshakeResponse(long)).authResponse.length).toBe(3000);
  });

  it('fails on every truncation with a protocol error', () => {
    const wire = encodeHandshakeResponse(response);
    for (let cut = 0; cut < wire.length; cut++) {
      try {
        parseHandshakeResponse(wire.subarray(0, cut));
      } catch (error) {
        expect(error).toBeInstanceOf(MysqlProtocolError);
      }
    }
  });

  it('tells an SSLRequest from a full response', () => {
    expect(isSslRequest(encodeSslRequest(response))).toBe(true);
    expect(isSslRequest(encodeHandshakeResponse(response))).toBe(false);
  });

  it('refuses a pre-4.1 client', () => {
    const old = encodeHandshakeResponse(response);
    old.writeUInt32LE(CAP.LONG_PASSWORD, 0);
    expect(() => parseHandshakeResponse(old)).toThrow(/pre-4.1/);
  });
});

describe('auth switch', () => {
  it('round-trips', () => {
    expect(parseAuthSwitch(encodeAuthSwitch('mysql_clear_password', Buffer.alloc(0)))).toEqual({ plugin: 'mysql_clear_password', data: Buffer.alloc(0) });
  });
});
