import { describe, expect, it } from 'vitest';
import { serialize as pgSerialize } from 'pg-protocol';
import { cstr, frame, i16, i32, packet, str, strip, u32 } from '../test/support/bytes.js';
import { FRONTEND_SAMPLES } from '../test/support/samples.js';
import { decodePassword, decodeSASLInitialResponse, decodeSASLResponse } from './auth-response.js';
import { ProtocolError } from './errors.js';
import type { AuthenticationResponse, FrontendMessage } from './frontend-messages.js';
import { FrontendParser } from './frontend-parser.js';
import { passwordMessage, saslInitialResponse, serializeFrontend, startupMessage } from './frontend-serialize.js';

const startup = (params: Record<string, string>): FrontendMessage => ({
  kind: 'StartupMessage',
  majorVersion: 3,
  minorVersion: 0,
  parameters: new Map(Object.entries(params)),
});


function parseTyped(bytes: Buffer): ReturnType<FrontendParser['parseAll']> {
  return new FrontendParser({ startupDone: true }).parseAll(bytes);
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}

describe('frontend serializer: exact bytes', () => {
  it('encodes Query, Sync and Terminate as documented', () => {
    expect(serializeFrontend({ kind: 'Query', sql: 'select 1' })).toEqual(frame('Q', cstr('select 1')));
    expect(serializeFrontend({ kind: 'Sync' })).toEqual(frame('S'));
    expect(serializeFrontend({ kind: 'Terminate' })).toEqual(frame('X'));
  });

  it('encodes Bind with NULL as length -1 and an empty value as length 0', () => {
    const bytes = serializeFrontend({
      kind: 'Bind',
      portal: '',
      statement: 'st',
      paramFormats: [1],
      params: [null, Buffer.alloc(0)],
      resultFormats: [],
    });
    expect(bytes).toEqual(frame('B', cstr(''), cstr('st'), i16(1), i16(1), i16(2), i32(-1), i32(0), i16(0)));
  });

  it('encodes the startup packets with their request codes', () => {
    expect(serializeFrontend({ kind: 'SSLRequest' })).toEqual(packet(i32(80877103)));
    expect(serializeFrontend({ kind: 'GSSENCRequest' })).toEqual(packet(i32(80877104)));
    expect(serializeFrontend({ kind: 'CancelRequest', processId: 77, secretKey: i32(-5) })).toEqual(
      packet(i32(80877102), i32(77), i32(-5)),
    );
    expect(startupMessage({ user: 'alice', database: 'db' })).toEqual(
      packet(i32(196608), cstr('user'), cstr('alice'), cstr('database'), cstr('db'), Buffer.from([0])),
    );
  });

  it('matches what node-postgres sends, byte for byte', () => {
    // node-postgres always appends client_encoding=UTF8.
    expect(startupMessage({ user: 'u', database: 'd', client_encoding: 'UTF8' })).toEqual(pgSerialize.startup({ user: 'u', database: 'd' }));
    expect(serializeFrontend({ kind: 'Parse', statement: 'n', sql: 'select $1', paramTypes: [25] })).toEqual(
      pgSerialize.parse({ name: 'n', text: 'select $1', types: [25] }),
    );
    expect(serializeFrontend({ kind: 'Execute', portal: 'p', maxRows: 5 })).toEqual(pgSerialize.execute({ portal: 'p', rows: 5 }));
    expect(serializeFrontend({ kind: 'Describe', target: 'P', name: 'p' })).toEqual(pgSerialize.describe({ type: 'P', name: 'p' }));
    expect(passwordMessage('pw')).toEqual(pgSerialize.password('pw'));
    expect(saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc'))).toEqual(
      pgSerialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=,r=abc'),
    );
  });

  it('parses what node-postgres sends', () => {
    const stream = Buffer.concat([
      pgSerialize.startup({ user: 'u', application_name: 'app' }),
      pgSerialize.parse({ text: 'select $1', types: [] }),
      pgSerialize.bind({ values: ['a', null, Buffer.from([1, 2])] }),
      pgSerialize.describe({ type: 'P' }),
      pgSerialize.execute({}),
      pgSerialize.sync(),
    ]);
    const msgs = new FrontendParser().parseAll(stream);
    expect(msgs.map((m) => m.kind)).toEqual(['StartupMessage', 'Parse', 'Bind', 'Describe', 'Execute', 'Sync']);
    const bind = msgs[2];
    if (bind?.kind !== 'Bind') throw new Error('expected Bind');
    expect(bind.params).toEqual([Buffer.from('a'), null, Buffer.from([1, 2])]);
    expect(bind.paramFormats).toEqual([0, 0, 1]);
  });

  it('refuses values the wire cannot carry', () => {
    expect(errorCode(() => serializeFrontend({ kind: 'Query', sql: 'a\0b' }))).toBe('invalid_value');
    expect(errorCode(() => serializeFrontend({ kind: 'Describe', target: 'X' as 'S', name: '' }))).toBe('invalid_value');
    expect(
      errorCode(() =>
        serializeFrontend({ kind: 'Bind', portal: '', statement: '', paramFormats: [2 as 0], params: [], resultFormats: [] }),
      ),
    ).toBe('invalid_value');
    expect(
      errorCode(() =>
        serializeFrontend({
          kind: 'Bind',
          portal: '',
          statement: '',
          paramFormats: [],
          params: new Array<null>(65536).fill(null),
          resultFormats: [],
        }),
      ),
    ).toBe('limit_exceeded');
  });
});

describe('frontend round trip', () => {
  it.each(FRONTEND_SAMPLES.map((m, i) => [`${i}: ${m.kind}`, m] as const))('parse(serialize(x)) == x for %s', (_name, message) => {
    const bytes = serializeFrontend(message);
    const parsed = parseTyped(bytes);
    expect(parsed).toHaveLength(1);
    expect(strip(parsed[0]!)).toEqual(message);
    expect(parsed[0]!.raw).toEqual(bytes);
  });

  it('round-trips startup packets', () => {
    for (const m of [
      startup({ user: 'ü', database: '', application_name: 'psql', options: '-c search_path=x', replication: 'database' }),
      startup({}),
      { kind: 'SSLRequest' } as const,
      { kind: 'GSSENCRequest' } as const,
    ]) {
      const parsed = new FrontendParser().parseAll(serializeFrontend(m));
      expect(parsed.map(strip)).toEqual([m]);
    }
  });

  it('round-trips Bind with the maximum of 65535 parameters', () => {
    const params = Array.from({ length: 65535 }, (_, i) => (i % 3 === 0 ? null : Buffer.from(String(i))));
    const m: FrontendMessage = { kind: 'Bind', portal: '', statement: '', paramFormats: [0], params, resultFormats: [] };
    const parsed = parseTyped(serializeFrontend(m))[0];
    if (parsed?.kind !== 'Bind') throw new Error('expected Bind');
    expect(parsed.params).toHaveLength(65535);
    // Compared value by value: a deep toEqual over 65 535 Buffers costs seconds.
    const mismatches = parsed.params.filter((p, i) => (p === null ? params[i] !== null : !p.equals(params[i]!)));
    expect(mismatches).toEqual([]);
    expect(parsed.paramFormats).toEqual([0]);
  });

  it('keeps each value a zero-copy view of the frame, and the frame a view of a large chunk', () => {
    const m: FrontendMessage = { ...(FRONTEND_SAMPLES[5] as FrontendMessage & { kind: 'Bind' }), params: [Buffer.alloc(2000, 1)] };
    const bytes = serializeFrontend(m);
    const bind = parseTyped(bytes)[0];
    if (bind?.kind !== 'Bind') throw new Error('expected Bind');
    expect(bind.params[0]!.buffer === bind.raw.buffer).toBe(true);
    expect(bind.raw.buffer === bytes.buffer).toBe(true);
  });
});

describe('frontend startup phase', () => {
  it('moves to the message phase after a StartupMessage', () => {
    const p = new FrontendParser();
    expect(p.phase).toBe('startup');
    const msgs = p.parseAll(Buffer.concat([startupMessage({ user: 'a' }), frame('Q', cstr('select 1'))]));
    expect(msgs.map((m) => m.kind)).toEqual(['StartupMessage', 'Query']);
    expect(p.phase).toBe('messages');
  });

  it('stays in the startup phase after SSLRequest so the real StartupMessage can follow', () => {
    const p = new FrontendParser();
    expect(p.parseAll(packet(i32(80877103))).map((m) => m.kind)).toEqual(['SSLRequest']);
    expect(p.phase).toBe('startup');
    expect(p.parseAll(startupMessage({ user: 'a' })).map((m) => m.kind)).toEqual(['StartupMessage']);
  });

  it('refuses bytes pipelined behind an SSLRequest (CVE-2021-23214)', () => {
    const p = new FrontendParser();
    expect(errorCode(() => p.parseAll(Buffer.concat([packet(i32(80877103)), startupMessage({ user: 'a' })])))).toBe(
      'unexpected_data',
    );
  });

  it('parses a CancelRequest and refuses anything after it', () => {
    const p = new FrontendParser();
    const [m] = p.parseAll(packet(i32(80877102), i32(4242), u32(0xdeadbeef)));
    expect(m?.kind).toBe('CancelRequest');
    if (m?.kind !== 'CancelRequest') return;
    expect(m.processId).toBe(4242);
    expect(m.secretKey.readUInt32BE(0)).toBe(0xdeadbeef);
    expect(p.phase).toBe('closed');
    expect(errorCode(() => p.parseAll(Buffer.from([1])))).toBe('unexpected_data');
  });

  it('exposes a requested newer minor version (for NegotiateProtocolVersion) but refuses other majors', () => {
    const [m] = new FrontendParser().parseAll(packet(i32((3 << 16) | 2), cstr('user'), cstr('a'), Buffer.from([0])));
    expect(m?.kind === 'StartupMessage' && m.minorVersion).toBe(2);
    expect(errorCode(() => new FrontendParser().parseAll(packet(i32(2 << 16), cstr('user'), cstr('a'), Buffer.from([0]))))).toBe(
      'unsupported_protocol',
    );
    expect(errorCode(() => new FrontendParser().parseAll(packet(i32(80877199))))).toBe('unsupported_protocol');
  });

  it('refuses repeated startup parameters and a missing terminator', () => {
    const dup = packet(i32(196608), cstr('user'), cstr('a'), cstr('user'), cstr('b'), Buffer.from([0]));
    expect(errorCode(() => new FrontendParser().parseAll(dup))).toBe('invalid_value');
    const unterminated = packet(i32(196608), cstr('user'), str('a'));
    expect(errorCode(() => new FrontendParser().parseAll(unterminated))).toBe('missing_nul');
  });

  it('refuses a startup packet over 10 000 bytes from its length word alone', () => {
    const p = new FrontendParser();
    expect(errorCode(() => p.parseAll(i32(10_001)))).toBe('limit_exceeded');
    expect(errorCode(() => new FrontendParser().parseAll(i32(7)))).toBe('bad_length');
    expect(errorCode(() => new FrontendParser().parseAll(packet(i32(80877103), i32(0))))).toBe('trailing_bytes');
  });
});

describe('frontend typed-message errors', () => {
  it('refuses an unknown type byte as soon as it arrives', () => {
    expect(errorCode(() => parseTyped(Buffer.from('Z')))).toBe('unknown_message');
    expect(errorCode(() => parseTyped(Buffer.from([0])))).toBe('unknown_message');
  });

  it('refuses lengths below 4, over the limit, and wrong fixed lengths before buffering the body', () => {
    expect(errorCode(() => parseTyped(Buffer.concat([Buffer.from('Q'), i32(3)])))).toBe('bad_length');
    expect(errorCode(() => parseTyped(Buffer.concat([Buffer.from('Q'), i32(64 * 1024 * 1024 + 1)])))).toBe('limit_exceeded');
    expect(errorCode(() => parseTyped(Buffer.concat([Buffer.from('S'), i32(1_000_000)])))).toBe('bad_length');
    const small = new FrontendParser({ startupDone: true, limits: { maxMessage: 100, maxCopyData: 1000 } });
    expect(small.parseAll(frame('d', Buffer.alloc(500)))[0]?.kind).toBe('CopyData');
    expect(errorCode(() => small.parseAll(frame('Q', cstr('x'.repeat(200)))))).toBe('limit_exceeded');
  });

  it('refuses truncated frames at end of stream and keeps failing afterwards', () => {
    const p = new FrontendParser({ startupDone: true });
    const bytes = frame('Q', cstr('select 1'));
    expect(p.parseAll(bytes.subarray(0, 7))).toEqual([]);
    expect(errorCode(() => p.end())).toBe('unexpected_eof');
    expect(errorCode(() => p.parseAll(bytes.subarray(7)))).toBe('unexpected_eof');
  });

  it('refuses malformed bodies', () => {
    expect(errorCode(() => parseTyped(frame('Q', str('no terminator'))))).toBe('missing_nul');
    expect(errorCode(() => parseTyped(frame('D', str('X'), cstr('n'))))).toBe('invalid_value');
    expect(errorCode(() => parseTyped(frame('B', cstr(''), cstr(''), i16(0), i16(1), i32(10), str('short'), i16(0))))).toBe('truncated');
    expect(errorCode(() => parseTyped(frame('B', cstr(''), cstr(''), i16(1), i16(7), i16(0), i16(0))))).toBe('invalid_value');
    expect(errorCode(() => parseTyped(frame('P', cstr(''), cstr('q'), i16(1000), i32(23))))).toBe('bad_count');
    expect(errorCode(() => parseTyped(frame('Q', cstr('a'), str('b'))))).toBe('trailing_bytes');
  });

  it('bounds a pre-authentication p message like PostgreSQL does (65535-byte token)', () => {
    expect(parseTyped(frame('p', Buffer.alloc(65_535)))[0]?.kind).toBe('AuthenticationResponse');
    expect(errorCode(() => parseTyped(Buffer.concat([Buffer.from('p'), i32(65_540)])))).toBe('limit_exceeded');
  });

  it('enforces maxParams on Bind', () => {
    const p = new FrontendParser({ startupDone: true, limits: { maxParams: 2 } });
    const bytes = frame('B', cstr(''), cstr(''), i16(0), i16(3), i32(-1), i32(-1), i32(-1), i16(0));
    expect(errorCode(() => p.parseAll(bytes))).toBe('limit_exceeded');
  });
});

describe('authentication response helpers', () => {
  const asAuth = (bytes: Buffer): AuthenticationResponse => {
    const m = parseTyped(bytes)[0];
    if (m?.kind !== 'AuthenticationResponse') throw new Error('expected p');
    return m;
  };

  it('decodes the same p message as password or SASL depending on context', () => {
    expect(decodePassword(asAuth(passwordMessage('md5abc')))).toBe('md5abc');
    const init = decodeSASLInitialResponse(asAuth(saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=x'))));
    expect(init).toEqual({ mechanism: 'SCRAM-SHA-256', initialResponse: Buffer.from('n,,n=,r=x') });
    expect(decodeSASLInitialResponse(asAuth(saslInitialResponse('X', null))).initialResponse).toBeNull();
    expect(decodeSASLResponse(asAuth(frame('p', str('c=biws'))))).toEqual(Buffer.from('c=biws'));
  });

  it('refuses a p message that does not fit the expected shape', () => {
    expect(errorCode(() => decodePassword(asAuth(frame('p', str('no nul')))))).toBe('missing_nul');
    expect(errorCode(() => decodePassword(asAuth(frame('p', cstr('a'), cstr('b')))))).toBe('trailing_bytes');
    expect(errorCode(() => decodeSASLInitialResponse(asAuth(frame('p', cstr('M'), i32(10), str('abc')))))).toBe('truncated');
  });
});
