import { describe, expect, it } from 'vitest';

import { Masker, OVERSIZED_VALUE } from './masker.js';
import { maskFull, maskHash, maskPartial } from './styles.js';
import type { MaskingRules } from './types.js';

const KEY = 'test-key-0123456789abcdef';
const ALL_FULL: MaskingRules = {
  entities: (['email', 'card', 'ssn', 'iban', 'phone', 'ip', 'jwt', 'cloud_key'] as const).map((entity) => ({ entity, style: 'full' as const })),
  columns: [],
};

describe('mask styles', () => {
  it('full keeps structure and hides every letter and digit', () => {
    expect(maskFull('4111-1111-1111-1111')).toBe('****-****-****-****');
    expect(maskFull('ada@example.com')).toBe('***@*******.***');
  });

  it('partial keeps the last four significant characters, or half of short values', () => {
    expect(maskPartial('4111 1111 1111 1111')).toBe('**** **** **** 1111');
    expect(maskPartial('536-22-1234')).toBe('***-**-1234');
    expect(maskPartial('ab12')).toBe('**12');
    expect(maskPartial('jane.doe@example.com', 'email')).toBe('j*******@example.com');
  });

  it('hash is a short keyed tag, stable per key and different across keys', () => {
    const a = maskHash('ada@example.com', Buffer.from(KEY));
    expect(a).toMatch(/^h:[0-9a-f]{16}$/);
    expect(maskHash('ada@example.com', Buffer.from(KEY))).toBe(a);
    expect(maskHash('ada@example.com', Buffer.from('another-key-0123456789'))).not.toBe(a);
    expect(maskHash('bob@example.com', Buffer.from(KEY))).not.toBe(a);
  });
});

describe('Masker', () => {
  it('masks entities in place and keeps the rest of the text', () => {
    const masker = new Masker(ALL_FULL, { key: KEY });
    expect(masker.maskValue('{"email":"ada@example.com","card":"4111 1111 1111 1111","n":7}')).toBe(
      '{"email":"***@*******.***","card":"**** **** **** ****","n":7}',
    );
    expect(masker.maskValue('Ada,536-22-1234,10.0.0.1\n')).toBe('Ada,***-**-****,**.*.*.*\n');
  });

  it('leaves values that fail validation visible', () => {
    const masker = new Masker(ALL_FULL, { key: KEY });
    const text = 'order 4111 1111 1111 1112 on 2024-01-15, ssn 000-12-3456, v1.2.3.4.5';
    expect(masker.maskValue(text)).toBe(text);
  });

  it('masks only the configured entities, each with its own style', () => {
    const masker = new Masker(
      { entities: [{ entity: 'email', style: 'partial' }, { entity: 'card', style: 'hash' }], columns: [] },
      { key: KEY },
    );
    const out = masker.maskValue('ada@example.com paid with 4111-1111-1111-1111 from 10.0.0.1');
    expect(out).toMatch(/^a\*\*@example\.com paid with h:[0-9a-f]{16} from 10\.0\.0\.1$/);
  });

  it('hashes the normalised value, so differently formatted copies still join', () => {
    const masker = new Masker({ entities: [{ entity: 'card', style: 'hash' }], columns: [] }, { key: KEY });
    expect(masker.maskValue('4111 1111 1111 1111')).toBe(masker.maskValue('4111-1111-1111-1111'));
    expect(masker.maskValue('4111111111111111')).toBe(maskHash('4111111111111111', Buffer.from(KEY)));
  });

  it('treats null as full for an entity inside a larger text', () => {
    const masker = new Masker({ entities: [{ entity: 'ssn', style: 'null' }], columns: [] }, { key: KEY });
    expect(masker.maskValue('ssn=536-22-1234')).toBe('ssn=***-**-****');
  });

  it('applies column rules before scanning, most specific table first', () => {
    const masker = new Masker(
      {
        entities: [{ entity: 'email', style: 'full' }],
        columns: [
          { table: '*', column: 'notes', style: 'full' },
          { table: 'users', column: 'ssn', style: 'null' },
          { table: 'hr.people', column: 'ssn', style: 'partial' },
          { table: 'customers', column: 'email', style: 'hash' },
        ],
      },
      { key: KEY },
    );
    expect(masker.maskValue('536-22-1234', { table: 'users', column: 'ssn' })).toBeNull();
    expect(masker.maskValue('536-22-1234', { table: 'public.users', column: 'SSN' })).toBeNull();
    expect(masker.maskValue('536-22-1234', { table: 'hr.people', column: 'ssn' })).toBe('***-**-1234');
    expect(masker.maskValue('536-22-1234', { table: 'people', column: 'ssn' })).toBe('***-**-1234');
    expect(masker.maskValue('536-22-1234', { table: 'sales.people', column: 'ssn' })).toBe('536-22-1234');
    expect(masker.maskValue('anything at all', { column: 'notes' })).toBe('******** ** ***');
    expect(masker.maskValue('ada@example.com', { table: 'customers', column: 'email' })).toBe(
      maskHash('ada@example.com', Buffer.from(KEY)),
    );
    // no column rule for this table: falls back to the entity scan
    expect(masker.maskValue('ada@example.com', { table: 'other', column: 'email' })).toBe('***@*******.***');
    expect(masker.maskValue('536-22-1234', { table: 'other', column: 'ssn' })).toBe('536-22-1234');
  });

  it('keeps the strongest style when an entity is listed twice', () => {
    const masker = new Masker(
      { entities: [{ entity: 'email', style: 'partial' }, { entity: 'email', style: 'full' }], columns: [] },
      { key: KEY },
    );
    expect(masker.maskValue('ada@example.com')).toBe('***@*******.***');
  });

  it('partial never shows a whole e-mail, even with a one-letter local part', () => {
    const masker = new Masker({ entities: [{ entity: 'email', style: 'partial' }], columns: [] }, { key: KEY });
    expect(masker.maskValue('x@y.io')).toBe('*@y.io');
    expect(masker.maskValue('to xy@y.io.')).toBe('to x*@y.io.');
    expect(masker.maskValue('x@y.io', { column: 'email' })).toBe('x@y.io'.replace('x', '*'));
  });

  it('masks the original characters of a value written in compatibility forms', () => {
    const masker = new Masker(
      { entities: [{ entity: 'email', style: 'partial' }, { entity: 'card', style: 'full' }, { entity: 'card', style: 'full' }], columns: [] },
      { key: KEY },
    );
    expect(masker.maskValue('ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ paid')).toBe('ａ**＠ｅｘａｍｐｌｅ．ｃｏｍ paid');
    expect(masker.maskValue('pan ４１１１\u200b１１１１ １１１１ １１１１!')).toBe('pan ****\u200b**** **** ****!');
    expect(masker.maskValue('pan ٤١١١١١١١١١١١١١١١')).toBe('pan ****************');
  });

  it('reads bare digits as an SSN or phone number only with the hint from the value name', () => {
    const masker = new Masker({ entities: [{ entity: 'ssn', style: 'full' }, { entity: 'phone', style: 'partial' }], columns: [] }, { key: KEY });
    expect(masker.maskValue('536221234')).toBe('536221234');
    expect(masker.maskValue('536221234', { column: 'ssn' }, false, { ssn: true })).toBe('*********');
    expect(masker.maskValue('14155552671')).toBe('14155552671');
    expect(masker.maskValue('14155552671', { column: 'phone' }, false, { phone: true })).toBe('*******2671');
    expect(masker.entityInNumber('536221234', { ssn: true }, 'integer')).toBe('ssn');
    expect(masker.entityInNumber('536221234', {}, 'integer')).toBeUndefined();
  });

  it('masks an address literal whole; partial keeps the first letter but not the IP', () => {
    const full = new Masker(ALL_FULL, { key: KEY });
    expect(full.maskValue('to ada@[192.168.0.1] and bob@[IPv6:2001:db8::1]')).toBe('to ***@[***.***.*.*] and ***@[****:****:***::*]');
    const partial = new Masker({ entities: [{ entity: 'email', style: 'partial' }, { entity: 'ip', style: 'full' }], columns: [] }, { key: KEY });
    expect(partial.maskValue('to ada@[192.168.0.1]')).toBe('to a**@[***.***.*.*]');
  });

  it('reads NNN_NN_NNNN and NNN/NN/NNNN standing alone as an SSN; in a path or identifier, or with other separators, only with a hint', () => {
    const masker = new Masker({ entities: [{ entity: 'ssn', style: 'full' }], columns: [] }, { key: KEY });
    expect(masker.maskValue('536_22_1234')).toBe('***_**_****');
    expect(masker.maskValue('536/22/1234')).toBe('***/**/****');
    expect(masker.maskValue('/files/536/22/1234')).toBe('/files/536/22/1234');
    expect(masker.maskValue('/files/536/22/1234', { column: 'ssn' }, false, { ssn: true })).toBe('/files/***/**/****');
    expect(masker.maskValue('row_536_22_1234', { column: 'ssn' }, false, { ssn: true })).toBe('row_***_**_****');
    expect(masker.maskValue('536:22:1234')).toBe('536:22:1234');
    expect(masker.maskValue('536:22:1234', { column: 'ssn' }, false, { ssn: true })).toBe('***:**:****');
    expect(masker.maskValue('536 | 22 | 1234', { column: 'tax_id' }, false, { ssn: true })).toBe('*** | ** | ****');
    // still validated: area 000 is never issued
    expect(masker.maskValue('000_22_1234', { column: 'ssn' }, false, { ssn: true })).toBe('000_22_1234');
  });

  it('masks all five parts of an encrypted token, and an unsecured token with its trailing dot', () => {
    const masker = new Masker({ entities: [{ entity: 'jwt', style: 'full' }], columns: [] }, { key: KEY });
    const b64url = (v: string) => Buffer.from(v, 'utf8').toString('base64url');
    const jwe = `${b64url('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.a2V5.aXY.Y2lwaGVydGV4dA.dGFn`;
    expect(masker.maskValue(`t=${jwe};`)).toBe(`t=${jwe.replace(/[A-Za-z0-9_-]/g, '*')};`);
    const unsecured = `${b64url('{ "alg": "none" }')}.${b64url('{"sub":"1"}')}.`;
    expect(masker.maskValue(`${unsecured} end`)).toBe(`${unsecured.replace(/[A-Za-z0-9_-]/g, '*')} end`);
  });

  it("keeps a JSON string's line-break escapes around a masked private key, so the JSON still parses", () => {
    const masker = new Masker(ALL_FULL, { key: KEY });
    const body = ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', 'Z6k2Vn3Q8s'];
    // A GCP service-account key file as stored in a json/text column.
    const file = JSON.stringify({ type: 'service_account', private_key: `-----BEGIN PRIVATE KEY-----\n${body.join('\n')}\n-----END PRIVATE KEY-----\n` });
    const out = masker.maskValue(file) ?? '';
    const parsed = JSON.parse(out) as { private_key: string };
    expect(parsed.private_key).toBe(`-----BEGIN PRIVATE KEY-----\n${'*'.repeat(body[0]?.length ?? 0)}\n${'*'.repeat(body[1]?.length ?? 0)}\n-----END PRIVATE KEY-----\n`);
    const partial = new Masker({ entities: [{ entity: 'cloud_key', style: 'partial' }], columns: [] }, { key: KEY });
    expect(() => JSON.parse(partial.maskValue(file) ?? '') as unknown).not.toThrow();
  });

  it('refuses a short key', () => {
    expect(() => new Masker(ALL_FULL, { key: 'short' })).toThrow(/at least 16 bytes/);
  });

  it('replaces a value too long to scan instead of letting it through', () => {
    const masker = new Masker(ALL_FULL, { key: KEY, maxScanLength: 100 });
    expect(masker.maskValue(`${'x'.repeat(100)}ada@example.com`)).toBe(OVERSIZED_VALUE);
    const noEntities = new Masker({ entities: [], columns: [] }, { key: KEY, maxScanLength: 100 });
    expect(noEntities.maskValue('y'.repeat(200))).toBe('y'.repeat(200));
  });

  it('finds cards among long runs of small numbers, wherever the card starts', () => {
    const masker = new Masker(ALL_FULL, { key: KEY });
    // Each group may start a card: a start that no issuer range allows is skipped, the others are read
    // with every length their ranges allow, longest first.
    expect(masker.maskValue(`${'7 '.repeat(5_000)}4111 1111 1111 1111`)).toBe(`${'7 '.repeat(5_000)}**** **** **** ****`);
    expect(masker.maskValue(`${'4 '.repeat(5_000)}x 5555-5555-5555-4444 9`)).toMatch(/x \*{4}-\*{4}-\*{4}-\*{4} 9$/);
    expect(masker.maskValue('3782 822463 10005 2024')).toBe('**** ****** ***** 2024');
    expect(masker.maskValue('1 4111 1111 1111 1111')).toBe('1 **** **** **** ****');
    expect(masker.maskValue('0.4111111111111111 and 4111111111111111.00')).toBe('0.4111111111111111 and ****************.00');
  });

  it('scans large adversarial inputs in linear passes and still finds what is at the end', () => {
    const masker = new Masker(ALL_FULL, { key: KEY });
    // Shapes that make naive patterns backtrack: long runs of near-matches for every recognizer.
    const adversarial = [
      'a.'.repeat(20_000) + '@',
      'a@'.repeat(20_000),
      '1 '.repeat(20_000),
      '1-'.repeat(20_000),
      '1.'.repeat(20_000),
      ':1'.repeat(20_000),
      'eyJ'.repeat(10_000) + '.' + 'a'.repeat(10_000) + '.',
      'AccountKey=' + 'A'.repeat(30_000),
      'DE89'.repeat(10_000),
      '9'.repeat(40_000),
      '1 - '.repeat(10_000),
      '1,111'.repeat(8_000),
      '1e+1.'.repeat(8_000),
      '"a'.repeat(20_000) + '"@',
      'é.'.repeat(20_000) + '@',
      '４'.repeat(40_000),
      '1\u200b'.repeat(20_000),
      '(1'.repeat(20_000),
      '-----BEGIN PRIVATE KEY-----' + '\nA'.repeat(20_000),
      '-----BEGIN PRIVATE KEY-----\n'.repeat(1_500) + 'A'.repeat(130),
      '-----BEGIN PRIVATE KEY-----' + ' \n'.repeat(20_000),
      'a%40'.repeat(10_000),
      '%C3%A9'.repeat(6_000),
      'a&#64;'.repeat(7_000),
      'a\\u0040'.repeat(6_000),
      // audit 2: JWT headers without `eyJ`, many dotted parts, blank runs in IBANs, address literals,
      // `_`/`/`-grouped digits after an SSN word, `+`-joined digits
      'ewog'.repeat(10_000) + '.' + 'a.'.repeat(10_000),
      'eyAiYWxnIjogIkhTMjU2In0.a.b.c.d.e '.repeat(1_200),
      'a.'.repeat(20_000) + 'ey',
      'DE89 \t'.repeat(8_000),
      'DE89  '.repeat(8_000),
      'a@['.repeat(10_000) + '1.1.1.1',
      'a@[' + '1:'.repeat(20_000),
      'ssn 1_'.repeat(8_000),
      'ssn 1/'.repeat(8_000),
      '1+'.repeat(20_000),
      'account_key = '.repeat(3_000) + 'A'.repeat(86),
      'AccountKey="'.repeat(3_000),
      'hooks.slack.com/services/T0000000/B'.repeat(1_000),
      'whsec_' + 'A'.repeat(40_000),
      // audit 3: JWT candidates of any first characters (dotted base64url runs, '_'/'-'-glued starts,
      // whitespace-only headers), SSN groups joined by any separator
      'abcdefghijklmn.'.repeat(2_600),
      'a_'.repeat(20_000) + '.x.y',
      ('a-'.repeat(100) + '.b.c ').repeat(200),
      'ICAg'.repeat(10_000) + '.e30.sig',
      'ICAgICAgICAgICAg.e30.sig '.repeat(1_500),
      '536:22:'.repeat(6_000),
      '536 | 22 | '.repeat(4_000),
      'ssn 536/22/'.repeat(4_000),
      '1/'.repeat(20_000),
      // red team: a base64 run not followed by a wrapped line, control sequences and strings, atext
      // and dots before an `@`
      'A'.repeat(60_000) + '\n!',
      'AAAAAAAAAAAA\n!'.repeat(3_000),
      '\x1b[31ma\x1b[0m'.repeat(8_000),
      '\x1b]0;a@b.co\x07'.repeat(4_000),
      "'a{".repeat(15_000) + '@',
      '.a@b.c'.repeat(8_000),
      'a@b.' + 'c.'.repeat(20_000) + '1',
    ];
    for (const text of adversarial) {
      const input = `${text} ada@example.com`;
      const out = masker.maskValue(input);
      expect(out?.endsWith(' ***@*******.***')).toBe(true);
    }
  });
});

describe('masked text scanned again (a recording masks what the client was sent)', () => {
  it('does not take a partially masked address for an address', () => {
    const full = new Masker(ALL_FULL, { key: KEY });
    const partial = new Masker({ entities: [{ entity: 'email', style: 'partial' }], columns: [] }, { key: KEY });
    for (const address of ['ada@example.com', "mary.o'brien@example.ie", 'a{b}@example.com']) {
      const once = partial.maskEntities(`Duplicate entry '${address}' for key 'email'`);
      expect(full.maskEntities(once)).toBe(once);
    }
  });
});
