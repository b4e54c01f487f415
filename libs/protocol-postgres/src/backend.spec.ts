import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse as pgParse } from 'pg-protocol';
import { cstr, frame, i16, i32, str, strip, u32, u8 } from '../test/support/bytes.js';
import { BACKEND_SAMPLES } from '../test/support/samples.js';
import { BackendParser } from './backend-parser.js';
import { dataRow, serializeBackend } from './backend-serialize.js';
import { ProtocolError } from './errors.js';
import { errorResponse, noticeResponse, readyForQuery } from './helpers.js';


function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}

const parse = (bytes: Buffer) => new BackendParser().parseAll(bytes);

describe('backend round trip', () => {
  it.each(BACKEND_SAMPLES.map((m, i) => [`${i}: ${m.kind}`, m] as const))('parse(serialize(x)) == x for %s', (_n, message) => {
    const bytes = serializeBackend(message);
    const parsed = parse(bytes);
    expect(parsed).toHaveLength(1);
    expect(strip(parsed[0]!)).toEqual(message);
    expect(parsed[0]!.raw).toEqual(bytes);
  });

  it('round-trips a DataRow at the field limit of 1664 columns', () => {
    const values = Array.from({ length: 1664 }, (_, i) => (i % 2 ? null : Buffer.from(`v${i}`)));
    expect(strip(parse(dataRow(values))[0]!)).toEqual({ kind: 'DataRow', values });
    const over = dataRow(new Array<null>(1665).fill(null));
    expect(errorCode(() => parse(over))).toBe('limit_exceeded');
  });
});

describe('backend exact bytes', () => {
  it('encodes DataRow NULL as -1 and empty as 0', () => {
    expect(dataRow([null, Buffer.alloc(0), Buffer.from('ab')])).toEqual(
      frame('D', i16(3), i32(-1), i32(0), i32(2), str('ab')),
    );
  });

  it('builds the gateway refusal ErrorResponse with S, V, C, M, D, H', () => {
    const bytes = errorResponse({ severity: 'FATAL', code: '28000', message: 'no grant', detail: 'd', hint: 'h' });
    const expected = frame(
      'E',
      u8(0x53), cstr('FATAL'),
      u8(0x56), cstr('FATAL'),
      u8(0x43), cstr('28000'),
      u8(0x4d), cstr('no grant'),
      u8(0x44), cstr('d'),
      u8(0x48), cstr('h'),
      u8(0),
    );
    expect(bytes).toEqual(expected);
    expect(readyForQuery('I')).toEqual(frame('Z', str('I')));
    const [notice] = parse(noticeResponse({ severity: 'WARNING', code: '01000', message: 'masked' }));
    expect(notice?.kind === 'NoticeResponse' && notice.fields.message).toBe('masked');
  });

  it('refuses an invalid SQLSTATE and values the wire cannot carry', () => {
    expect(errorCode(() => errorResponse({ severity: 'ERROR', code: '4250', message: 'x' }))).toBe('invalid_value');
    expect(errorCode(() => errorResponse({ severity: 'ERROR', code: '42501', message: 'a\0b' }))).toBe('invalid_value');
    expect(errorCode(() => serializeBackend({ kind: 'ReadyForQuery', status: 'X' as 'I' }))).toBe('invalid_value');
    expect(
      errorCode(() => serializeBackend({ kind: 'ErrorResponse', fields: { unknown: [{ code: 'M', value: 'dup' }] } })),
    ).toBe('invalid_value');
    expect(errorCode(() => serializeBackend({ kind: 'AuthenticationMD5Password', salt: Buffer.alloc(3) }))).toBe('invalid_value');
  });

  it('is understood by node-postgres', async () => {
    const bytes = Buffer.concat([
      serializeBackend({ kind: 'AuthenticationOk' }),
      serializeBackend({ kind: 'ParameterStatus', name: 'client_encoding', value: 'UTF8' }),
      serializeBackend(BACKEND_SAMPLES[16]!),
      dataRow([Buffer.from('1'), null]),
      serializeBackend({ kind: 'CommandComplete', tag: 'SELECT 1' }),
      errorResponse({ severity: 'ERROR', code: '42501', message: 'denied by policy' }),
      readyForQuery('I'),
    ]);
    const seen: Record<string, unknown>[] = [];
    await pgParse(Readable.from([bytes]), (m) => seen.push(m as unknown as Record<string, unknown>));
    expect(seen.map((m) => m['name'])).toEqual([
      'authenticationOk',
      'parameterStatus',
      'rowDescription',
      'dataRow',
      'commandComplete',
      'error',
      'readyForQuery',
    ]);
    expect(seen[3]!['fields']).toEqual(['1', null]);
    expect(seen[5]!['code']).toBe('42501');
    expect(seen[5]!['message']).toBe('denied by policy');
  });
});

describe('backend parser errors', () => {
  it('refuses unknown type bytes and unknown authentication codes', () => {
    expect(errorCode(() => parse(Buffer.from('Q')))).toBe('unknown_message');
    expect(errorCode(() => parse(frame('R', i32(99))))).toBe('unknown_message');
  });

  it('refuses malformed bodies', () => {
    expect(errorCode(() => parse(frame('Z', str('X'))))).toBe('invalid_value');
    expect(errorCode(() => parse(frame('Z', str('II'))))).toBe('bad_length');
    expect(errorCode(() => parse(frame('D', i16(1), i32(-2))))).toBe('bad_length');
    expect(errorCode(() => parse(frame('D', i16(2), i32(-1))))).toBe('bad_count');
    expect(errorCode(() => parse(frame('D', i16(1), i32(9), str('abc'))))).toBe('truncated');
    expect(errorCode(() => parse(frame('T', i16(1), cstr('x'), u32(0))))).toBe('bad_count');
    expect(errorCode(() => parse(frame('E', u8(0x4d), str('unterminated'))))).toBe('missing_nul');
    expect(errorCode(() => parse(frame('K', i32(1), i16(1))))).toBe('bad_length');
    expect(errorCode(() => parse(frame('R', i32(5), str('abc'))))).toBe('truncated');
    expect(errorCode(() => parse(frame('C', cstr('SELECT 1'), str('x'))))).toBe('trailing_bytes');
    expect(errorCode(() => parse(frame('G', u8(2), i16(0))))).toBe('invalid_value');
  });

  it('refuses an oversized DataRow from its header, before the body arrives', () => {
    const p = new BackendParser({ limits: { maxMessage: 1024 } });
    expect(errorCode(() => p.parseAll(Buffer.concat([Buffer.from('D'), i32(1025)])))).toBe('limit_exceeded');
    expect(p.bufferedBytes).toBe(0);
  });

  it('reports a stream cut inside a message', () => {
    const p = new BackendParser();
    p.parseAll(dataRow([Buffer.from('abc')]).subarray(0, 9));
    expect(errorCode(() => p.end())).toBe('unexpected_eof');
  });
});

describe('encryption response', () => {
  it('reads the single unframed answer byte and then typed messages', () => {
    const p = new BackendParser();
    p.expectEncryptionResponse();
    expect(p.parseAll(Buffer.from('N')).map(strip)).toEqual([{ kind: 'EncryptionResponse', answer: 'N' }]);
    expect(p.parseAll(readyForQuery('I'))[0]?.kind).toBe('ReadyForQuery');
  });

  it('passes an ErrorResponse through instead of an answer byte', () => {
    const p = new BackendParser();
    p.expectEncryptionResponse();
    expect(p.parseAll(errorResponse({ severity: 'FATAL', code: '08P01', message: 'x' }))[0]?.kind).toBe('ErrorResponse');
  });

  it("refuses bytes that follow an 'S' before the TLS handshake (CVE-2021-23222)", () => {
    const p = new BackendParser();
    p.expectEncryptionResponse();
    expect(errorCode(() => p.parseAll(Buffer.concat([Buffer.from('S'), readyForQuery('I')])))).toBe('unexpected_data');
  });
});
