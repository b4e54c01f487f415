import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Masker, type MaskingRules } from '@gw/masking';
import type { SessionRecorder } from '../../recording/recording-shipper.js';
import { IoRecorder, type IoFrame } from './io-recorder.js';

function recorder(): SessionRecorder & { events: { type: string; data: Record<string, unknown> }[] } {
  const events: { type: string; data: Record<string, unknown> }[] = [];
  return { sessionId: 's', events, record: (type, data) => events.push({ type, data }), flushed: () => Promise.resolve() };
}

const KEY = 'k'.repeat(32);
const RULES: MaskingRules = {
  entities: [
    { entity: 'email', style: 'partial' }, { entity: 'card', style: 'full' }, { entity: 'ssn', style: 'full' },
    { entity: 'iban', style: 'partial' }, { entity: 'phone', style: 'partial' }, { entity: 'cloud_key', style: 'full' },
  ],
  columns: [],
};
const masker = new Masker(RULES, { key: KEY });
const hashing = new Masker({ entities: RULES.entities.map(({ entity }) => ({ entity, style: 'hash' as const })), columns: [] }, { key: KEY });

const frames = (rec: ReturnType<typeof recorder>): IoFrame[] => rec.events.filter((e) => e.type === 'ssh.io').flatMap((e) => e.data['frames'] as IoFrame[]);
const textOf = (all: IoFrame[], kind: IoFrame[1]): string => all.filter(([, k]) => k === kind).map(([, , d]) => d).join('');

/** Values of several kinds and spellings, each with the text the recognizers need around it. */
const VALUES: { name: string; before: string; value: string; after: string }[] = [
  { name: 'e-mail', before: 'contact: ', value: 'ada.lovelace@example.com', after: ' ok' },
  { name: 'e-mail, non-ASCII', before: 'mail ', value: 'josé@exämple.de', after: '\n' },
  { name: 'card with spaces', before: 'card ', value: '4111 1111 1111 1111', after: '\n' },
  { name: 'card with dashes', before: 'paid with ', value: '5555-5555-5555-4444', after: ' today' },
  { name: 'card, bare digits', before: 'pan=', value: '378282246310005', after: ';' },
  { name: 'SSN', before: 'ssn ', value: '536-22-1234', after: '\r\n' },
  { name: 'SSN, bare digits after the word SSN', before: 'SSN: ', value: '536221234', after: '\n' },
  { name: 'IBAN with spaces', before: 'iban ', value: 'DE89 3704 0044 0532 0130 00', after: '\n' },
  { name: 'IBAN, compact', before: 'to ', value: 'GB82WEST12345698765432', after: ' now' },
  { name: 'phone, international', before: 'call ', value: '+44 20 7946 0958', after: '\n' },
  { name: 'phone, NANP', before: 'tel: ', value: '(415) 555-0132', after: ' ext' },
];

/** Multibyte UTF-8 around the value: 2, 3 and 4 byte characters, and an ANSI colour. */
const AROUND = { before: 'Grüße — 顧客 🙂 \x1b[31m', after: '\x1b[0m ✓' };

/** Splits the UTF-8 bytes of `text` at byte `at` (possibly inside a character). */
function splitBytes(text: string, at: number): [Buffer, Buffer] {
  const bytes = Buffer.from(text, 'utf8');
  return [bytes.subarray(0, at), bytes.subarray(at)];
}

describe('IoRecorder masking', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const { name, before, value, after } of VALUES) {
    const text = `${AROUND.before}${before}${value}${after}${AROUND.after}`;
    const expected = `${AROUND.before}${masker.maskEntities(`${before}${value}${after}`)}${AROUND.after}`;

    it(`masks a ${name} split at every byte offset, in every direction, within one flush and across flushes`, () => {
      expect(expected).not.toContain(value);
      const size = Buffer.byteLength(text);
      for (let at = 1; at < size; at++) {
        for (const kind of ['o', 'e', 'i'] as const) {
          for (const flushBetween of [false, true]) {
            const rec = recorder();
            const io = new IoRecorder(rec, 1, 1 << 20, masker);
            const [first, second] = splitBytes(text, at);
            io.data(kind, first);
            if (flushBetween) vi.advanceTimersByTime(100);
            io.data(kind, second);
            io.close();
            const recorded = textOf(frames(rec), kind);
            expect(recorded, `${kind} split at byte ${at}${flushBetween ? ' with a flush between' : ''}`).toBe(expected);
            expect(recorded).not.toContain(value);
          }
        }
      }
    });
  }

  /** Terminal output where control sequences sit inside a value: they stay, the value's characters are masked. */
  const COLOURED: { name: string; text: string; expected: string }[] = [
    { name: 'grep --color around part of an e-mail', text: 'x.csv:\x1b[01;31m\x1b[Kada\x1b[m\x1b[K@example.com,1\n', expected: 'x.csv:\x1b[01;31m\x1b[Ka**\x1b[m\x1b[K@example.com,1\n' },
    { name: 'bold group inside a card', text: 'card 4111 \x1b[1m1111\x1b[0m 1111 1111\r\n', expected: 'card **** \x1b[1m****\x1b[0m **** ****\r\n' },
    { name: 'colour glued to the word SSN', text: '\x1b[33mSSN:\x1b[0m 536221234\n', expected: '\x1b[33mSSN:\x1b[0m *********\n' },
    { name: 'OSC title and 8-bit CSI', text: '\x1b]0;host\x07\x9b1m+44 20 7946 0958\x9b0m\n', expected: '\x1b]0;host\x07\x9b1m+** ** **** 0958\x9b0m\n' },
  ];
  for (const { name, text, expected } of COLOURED) {
    it(`masks a value with control sequences inside (${name}), split at every byte offset`, () => {
      const size = Buffer.byteLength(text);
      for (let at = 1; at < size; at++) {
        const rec = recorder();
        const io = new IoRecorder(rec, 1, 1 << 20, masker);
        const [first, second] = splitBytes(text, at);
        io.data('o', first);
        vi.advanceTimersByTime(100);
        io.data('o', second);
        io.close();
        expect(textOf(frames(rec), 'o'), `split at byte ${at}`).toBe(expected);
      }
    });
  }

  it('masks a value typed one character at a time (a terminal), keeping each frame its own time', () => {
    const rec = recorder();
    const io = new IoRecorder(rec, 1, 1 << 20, masker);
    const typed = 'echo ada.lovelace@example.com 4111 1111 1111 1111\r';
    for (const ch of typed) {
      io.data('i', Buffer.from(ch));
      vi.advanceTimersByTime(100);
    }
    io.close();
    const all = frames(rec);
    expect(textOf(all, 'i')).toBe('echo a***********@example.com **** **** **** ****\r');
    // One frame per keystroke, in time order: the replay still types them one by one.
    expect(all.length).toBe([...typed].length);
    const times = all.map(([t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('gives a masked value of another length (hash) to the frame where the value starts', () => {
    const rec = recorder();
    const io = new IoRecorder(rec, 1, 1 << 20, hashing);
    io.data('o', Buffer.from('card 4111 11'));
    vi.advanceTimersByTime(100);
    io.data('o', Buffer.from('11 1111 1111 ok\n'));
    io.close();
    const all = frames(rec);
    expect(textOf(all, 'o')).toMatch(/^card h:[0-9a-f]{16} ok\n$/);
    expect(all.map(([, , d]) => d)).toEqual([expect.stringMatching(/^card h:[0-9a-f]{16}$/), ' ok\n']);
  });

  it('keeps frames of all directions in time order while a direction holds a line back', () => {
    const rec = recorder();
    const io = new IoRecorder(rec, 1, 1 << 20, masker);
    io.data('o', Buffer.from('$ '));
    vi.advanceTimersByTime(100);
    io.data('i', Buffer.from('x'));
    vi.advanceTimersByTime(100);
    io.resize(80, 24);
    vi.advanceTimersByTime(100);
    io.data('o', Buffer.from('x\r\n'));
    vi.advanceTimersByTime(100);
    io.close();
    const all = frames(rec);
    expect(all.map(([, k, d]) => [k, d])).toEqual([['o', '$ '], ['i', 'x'], ['r', '80x24'], ['o', 'x\r\n']]);
    const times = rec.events.filter((e) => e.type === 'ssh.io').flatMap((e) => (e.data['frames'] as IoFrame[]).map(([t]) => t));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('masks a private key block that arrives line by line', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNb\n';
    const pem = `-----BEGIN PRIVATE KEY-----\n${body}-----END PRIVATE KEY-----\n`;
    const rec = recorder();
    const io = new IoRecorder(rec, 1, 1 << 20, masker);
    for (const line of pem.split(/(?<=\n)/)) {
      io.data('o', Buffer.from(line));
      vi.advanceTimersByTime(100);
    }
    io.close();
    const recorded = textOf(frames(rec), 'o');
    expect(recorded).toBe(masker.maskEntities(pem));
    expect(recorded).not.toContain('MIIEvQ');
  });

  it('records text unchanged without masking obligations', () => {
    const text = 'card 4111 1111 1111 1111, ada@example.com\n';
    for (const m of [undefined, new Masker({ entities: [], columns: [] }, { key: KEY })]) {
      const rec = recorder();
      const io = new IoRecorder(rec, 1, 1 << 20, m);
      const [a, b] = splitBytes(text, 12);
      io.data('o', a);
      io.data('o', b);
      io.close();
      expect(frames(rec).map(([, k, d]) => [k, d])).toEqual([['o', 'card 4111 11'], ['o', '11 1111 1111, ada@example.com\n']]);
    }
  });
});
