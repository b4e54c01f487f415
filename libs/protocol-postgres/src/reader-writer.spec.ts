import { describe, expect, it } from 'vitest';
import { cstr, i16, i32 } from '../test/support/bytes.js';
import { ProtocolError } from './errors.js';
import { resolveLimits } from './limits.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}

describe('Reader', () => {
  it('reads integers, strings and byte views in order', () => {
    const buf = Buffer.concat([i16(-2), i32(70000), cstr('héllo'), Buffer.from([1, 2, 3])]);
    const r = new Reader(buf);
    expect(r.i16()).toBe(-2);
    expect(r.i32()).toBe(70000);
    expect(r.cstring()).toBe('héllo');
    const rest = r.rest();
    expect([...rest]).toEqual([1, 2, 3]);
    expect(rest.buffer).toBe(buf.buffer); // zero-copy view
    r.done();
  });

  it('refuses short input with truncated', () => {
    expect(code(() => new Reader(Buffer.from([0, 0, 1])).i32())).toBe('truncated');
    expect(code(() => new Reader(Buffer.from([0])).i16())).toBe('truncated');
    expect(code(() => new Reader(Buffer.alloc(0)).u8())).toBe('truncated');
  });

  it('refuses a string whose NUL lies outside the message bounds', () => {
    const buf = Buffer.concat([Buffer.from('abc'), Buffer.from([0])]);
    expect(code(() => new Reader(buf, 0, 3).cstring())).toBe('missing_nul');
    expect(new Reader(buf, 0, 4).cstring()).toBe('abc');
  });

  it('refuses negative lengths other than -1 and maps -1 to NULL', () => {
    expect(new Reader(i32(-1)).nullableBytes()).toBeNull();
    expect(code(() => new Reader(i32(-2)).nullableBytes())).toBe('bad_length');
    expect(code(() => new Reader(Buffer.concat([i32(5), Buffer.from('abc')])).nullableBytes())).toBe('truncated');
  });

  it('refuses counts beyond the limit or beyond the remaining bytes before allocating', () => {
    expect(code(() => new Reader(Buffer.from([0x00, 0x03, 0, 0, 0, 0])).count(2, 2, 'x'))).toBe('limit_exceeded');
    expect(code(() => new Reader(Buffer.from([0xff, 0xff, 0, 0])).count(65535, 4, 'x'))).toBe('bad_count');
    expect(new Reader(Buffer.from([0x00, 0x02, 0, 0, 0, 0])).count(2, 2, 'x')).toBe(2);
    expect(code(() => new Reader(i32(-5)).count(10, 1, 'x', 'i32'))).toBe('bad_count');
  });

  it('reports trailing bytes', () => {
    const r = new Reader(Buffer.from([1, 2]));
    r.u8();
    expect(code(() => r.done())).toBe('trailing_bytes');
  });
});

describe('Writer', () => {
  it('reserves the header and fills in the self-inclusive length', () => {
    const out = new Writer(16).begin('Q').cstring('select 1').end().finish();
    expect(out.toString('hex')).toBe('510000000d' + Buffer.from('select 1\0').toString('hex'));
  });

  it('writes an untyped startup packet and grows past its size hint', () => {
    const long = 'x'.repeat(1000);
    const out = new Writer(16).begin(null).i32(196608).cstring(long).end().finish();
    expect(out.readInt32BE(0)).toBe(out.length);
    expect(out.length).toBe(4 + 4 + 1001);
  });

  it('batches several frames into one buffer', () => {
    const out = new Writer().begin('S').end().begin('H').end().finish();
    expect(out.toString('hex')).toBe('530000000448' + '00000004');
  });

  it('refuses a NUL inside a C string (it would split the field on the other side)', () => {
    expect(code(() => new Writer().begin('Q').cstring('select 1\0; drop table x'))).toBe('invalid_value');
  });

  it('refuses integers the wire cannot carry', () => {
    expect(code(() => new Writer().i16(40000))).toBe('invalid_value');
    expect(code(() => new Writer().i32(2 ** 31))).toBe('invalid_value');
    expect(code(() => new Writer().u32(-1))).toBe('invalid_value');
    expect(code(() => new Writer().u8(1.5))).toBe('invalid_value');
    expect(code(() => new Writer().count(65536, 'params'))).toBe('limit_exceeded');
  });
});

describe('resolveLimits', () => {
  it('applies defaults and refuses limits that would disable a check', () => {
    expect(resolveLimits({ maxFields: 10 }).maxFields).toBe(10);
    expect(resolveLimits().maxStartupPacket).toBe(10_000);
    expect(code(() => resolveLimits({ maxMessage: 0 }))).toBe('invalid_value');
    expect(code(() => resolveLimits({ maxMessage: Number.NaN }))).toBe('invalid_value');
    expect(code(() => resolveLimits({ maxStartupPacket: 4 }))).toBe('invalid_value');
  });
});
