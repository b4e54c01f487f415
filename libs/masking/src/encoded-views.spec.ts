import { describe, expect, it } from 'vitest';
import { Masker } from './masker.js';

const masker = new Masker(
  {
    entities: [
      { entity: 'email', style: 'full' },
      { entity: 'card', style: 'full' },
      { entity: 'ssn', style: 'full' },
    ],
    columns: [],
  },
  { key: '0123456789abcdef0123' },
);

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
const unhex = (s: string): string => Buffer.from(s, 'hex').toString('latin1');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('latin1');

describe('PII hidden in an encoding is still masked', () => {
  it('bytea hex output (`email::bytea`)', () => {
    const out = masker.maskEntities(`\\x${hex('ada@example.com')}`);
    expect(out.startsWith('\\x')).toBe(true);
    expect(unhex(out.slice(2))).toBe('***@*******.***');
  });

  it("encode(..., 'hex') in upper or lower case, inside a larger text", () => {
    const upper = hex('card: ada@example.com').toUpperCase();
    const out = masker.maskEntities(`pan=${upper};`);
    expect(out).toMatch(/^pan=[0-9A-F]+;$/);
    expect(unhex(out.slice(4, -1))).toBe('card: ***@*******.***');
    expect(unhex(masker.maskEntities(hex('4111 1111 1111 1111')))).toBe('**** **** **** ****');
  });

  it("encode(..., 'base64') with and without padding, and base64url", () => {
    const padded = b64('bob@example.org!');
    expect(padded.endsWith('=')).toBe(true);
    expect(unb64(masker.maskEntities(padded))).toBe('***@*******.***!');
    const unpadded = b64('ssn 536-22-8714').replace(/=+$/, '');
    expect(unb64(masker.maskEntities(unpadded))).toBe('ssn ***-**-****');
    const url = Buffer.from('>>>ada@example.com???', 'latin1').toString('base64url');
    expect(Buffer.from(masker.maskEntities(url), 'base64url').toString('latin1')).toBe('>>>***@*******.***???');
  });

  it('reversed text only when the caller says the value is computed', () => {
    expect(masker.maskEntities('moc.elpmaxe@ada', true)).toBe('***.*******@***');
    expect(masker.maskEntities('4178-22-635', true)).toBe('****-**-***');
    expect(masker.maskEntities('moc.elpmaxe@ada')).toBe('moc.elpmaxe@ada');
  });
});

describe('encodings of harmless data are left alone', () => {
  it.each([
    ['an md5 hex digest', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a uuid', '123e4567-e89b-12d3-a456-426614174000'],
    ['ordinary long words', 'administrators configuration'],
    ['base64 of random bytes', Buffer.from([0x8f, 0x01, 0xfe, 0x33, 0x90, 0x12, 0xaa, 0xcc, 0x07]).toString('base64')],
    ['base64 of harmless text', b64('hello world, nothing here')],
    ['hex of harmless text', `\\x${hex('just a note')}`],
  ])('%s', (_name, value) => {
    expect(masker.maskEntities(value, true)).toBe(value);
  });
});

describe('PII written with URL, HTML or JSON escapes is masked, and the escapes stay', () => {
  it.each([
    ['a percent-encoded @ in a query string', 'https://shop.example/track?email=ada%40example.com&step=2', 'https://shop.example/track?email=***%40*******.***&step=2'],
    ['a mailto: link with an encoded + and @', 'mailto:ada%2Bnews%40example.com', 'mailto:***%2B****%40*******.***'],
    ['a card with encoded spaces', 'pan=4111%201111%201111%201111', 'pan=****%20****%20****%20****'],
    ['an HTML decimal character reference', '<p>ada&#64;example.com</p>', '<p>***&#64;*******.***</p>'],
    ['an HTML hex reference and a named one', 'ada&#x40;example&period;com or bob&commat;example.org', '***&#x40;*******&period;*** or ***&commat;*******.***'],
    ['a UTF-8 local part, percent-encoded', 'to=jos%C3%A9%40example.es', 'to=****%40*******.**'],
    ['HTML decimal references without their semicolon (browsers decode them)', '<p>ada&#64example&#46com</p>', '<p>***&#64*******&#46***</p>'],
  ])('%s', (_name, value, masked) => {
    expect(masker.maskEntities(value)).toBe(masked);
  });

  it('JSON written in ASCII only (`\\u00e9`): the whole address is masked and the JSON still parses', () => {
    // Python's json.dumps escapes every non-ASCII character.
    const value = '{"email":"jos\\u00e9.garc\\u00eda@example.es"}';
    const out = masker.maskEntities(value);
    expect(out).toBe('{"email":"****.******@*******.**"}');
    expect(JSON.parse(out)).toEqual({ email: '****.******@*******.**' });
    const partial = new Masker({ entities: [{ entity: 'email', style: 'partial' }], columns: [] }, { key: '0123456789abcdef0123' });
    expect(partial.maskEntities('{"email":"\\u00e9lise@example.fr"}')).toBe('{"email":"\\u00e9****@example.fr"}');
  });

  it('hashes the decoded value, so an escaped copy joins with the plain one', () => {
    const hashing = new Masker({ entities: [{ entity: 'email', style: 'hash' }], columns: [] }, { key: '0123456789abcdef0123' });
    const plain = hashing.maskEntities('ada@example.com');
    expect(plain).toMatch(/^h:[0-9a-f]{16}$/);
    expect(hashing.maskEntities('e=ada%40example.com&x=1')).toBe(`e=${plain}&x=1`);
  });

  it.each([
    ['a percent sign', '50% off, 100%25 sure'],
    ['HTML entities', 'Fish &amp; Chips &lt;3 &#169; 2024'],
    ['a LIKE pattern', "SELECT * FROM t WHERE code LIKE '%40%' AND n > 4"],
    ['JSON escapes of ordinary text', '{"n":"Zo\\u00eb \\u2013 \\u00e9t\\u00e9"}'],
  ])('leaves %s alone', (_name, value) => {
    expect(masker.maskEntities(value)).toBe(value);
  });
});

describe('encodings found by the red team', () => {
  it('binary shown as a 0x literal (mysql --binary-as-hex, SQL Server varbinary)', () => {
    expect(masker.maskEntities(`email: 0x${hex('ada@example.com').toUpperCase()}`)).toBe(`email: 0x${hex('***@*******.***').toUpperCase()}`);
    expect(masker.maskEntities(`0x${hex('4111111111111111')}`)).toBe(`0x${hex('*'.repeat(16))}`);
    // a pointer is no text: left as it is
    expect(masker.maskEntities('ptr 0x7ffd5e8c1a20')).toBe('ptr 0x7ffd5e8c1a20');
  });

  it('reads a long base64 run followed by no wrapped line once, not from each of its characters', () => {
    const started = Date.now();
    expect(masker.maskEntities(`${'A'.repeat(60_000)}\n! ada@example.com`).endsWith('! ***@*******.***')).toBe(true);
    // Linear: tens of milliseconds; retried from each character it took seconds.
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("base64 wrapped every 76 characters (Postgres encode(…, 'base64'), MIME) with a value across the break", () => {
    const text = 'Customer note: please contact the account holder at alice@example.com or call';
    const wrap = (s: string, lineBreak: string): string => s.match(/.{1,76}/g)!.join(lineBreak);
    for (const lineBreak of ['\n', '\r\n']) {
      const out = masker.maskEntities(wrap(b64(text), lineBreak));
      expect(out).toBe(wrap(b64(text.replace('alice@example.com', '*****@*******.***')), lineBreak));
    }
  });
});

describe('PII in a wide encoding (UTF-16, UTF-32) read as bytes', () => {
  const wide = (text: string, encoding: 'utf16be' | 'utf16le' | 'utf32be' | 'utf32le'): string => {
    const width = encoding.startsWith('utf32') ? 4 : 2;
    const big = encoding.endsWith('be');
    return [...text].map((ch) => {
      const pad = '\u0000'.repeat(width - 1);
      return big ? pad + ch : ch + pad;
    }).join('');
  };
  const value = 'mail ada@example.com card 4111 1111 1111 1111';

  it.each(['utf16be', 'utf16le', 'utf32be', 'utf32le'] as const)('%s: entities masked, the NUL padding kept', (encoding) => {
    const masked = masker.maskEntities(wide(value, encoding));
    expect(masked).toBe(wide('mail ***@*******.*** card **** **** **** ****', encoding));
  });

  it('inside hex (HEX(CONVERT(email USING utf16))), and with text around it', () => {
    const masked = masker.maskEntities(`x ${hex(wide('ada@example.com', 'utf16be'))} y`);
    expect(unhex(masked.slice(2, -2))).toBe(wide('***@*******.***', 'utf16be'));
    expect(masker.maskEntities(`ok ${wide('ada@example.com', 'utf16le')}!`)).toBe(`ok ${wide('***@*******.***', 'utf16le')}!`);
  });

  it('a mask of another length (hash) turns every character of the run into *', () => {
    const hashing = new Masker({ entities: [{ entity: 'email', style: 'hash' }], columns: [] }, { key: '0123456789abcdef0123' });
    expect(hashing.maskEntities(wide('ada@example.com', 'utf16be'))).toBe(wide('*'.repeat(15), 'utf16be'));
  });

  it('wide text without entities, and NULs in ordinary data, are left alone', () => {
    expect(masker.maskEntities(wide('hello world, nothing here', 'utf16be'))).toBe(wide('hello world, nothing here', 'utf16be'));
    expect(masker.maskEntities('a\u0000b\u0000\u0000c')).toBe('a\u0000b\u0000\u0000c');
  });
});

describe('computed values read backwards', () => {
  it('a reversed card is found, ending in zeros too', () => {
    const reversed = (text: string) => [...text].reverse().join('');
    expect(masker.maskEntities(reversed('4111 1111 1111 1111'), true)).toBe('**** **** **** ****');
    expect(masker.maskEntities(reversed('4000000000000002'), true)).toBe('****************');
    expect(masker.maskEntities(reversed('5105105105105100'), true)).toBe('****************');
  });

  it('zero-padded ids are no reversed cards (pg_export_snapshot: 00000001-00024E9C-1, 00000001-00000004-1)', () => {
    for (const id of ['00000001-00024E9C-1', '00000001-00000004-1', '00000007-00054E9C-1']) expect(masker.maskEntities(id, true)).toBe(id);
  });
});
