import { describe, expect, it } from 'vitest';
import { memoryRecorder } from '../../../test/support/pg-session-fixture.js';
import { NO_MASKING } from './statement-policy.js';
import { sampleRow } from './row-masking.js';
import { StatementRecording } from './statement-recording.js';

const KEY = Buffer.alloc(32, 3);
const ALLOW = { effect: 'allow' as const, policies: ['p'], reasons: [], masking: NO_MASKING };

function recordedTexts(texts: string[]): string[] {
  const { recorder, records } = memoryRecorder();
  const recording = new StatementRecording(recorder, KEY, 0);
  for (const text of texts) void recording.finish(recording.newRun(text, ALLOW), 'SELECT 1', undefined, false);
  return records.map((r) => r.data.text as string);
}

describe('StatementRecording: recorded statement texts', () => {
  const withEmail = "SELECT * FROM customers WHERE email = 'ada.lovelace@example.com'";

  it('masks a text that recurs every time it is recorded (the kept masked form, never the raw one)', () => {
    const texts = recordedTexts([withEmail, withEmail, withEmail]);
    expect(texts).toHaveLength(3);
    for (const text of texts) {
      expect(text).not.toContain('ada.lovelace@example.com');
      expect(text).toBe(texts[0]);
    }
    expect(texts[0]).toContain('SELECT * FROM customers WHERE email =');
  });

  it('masks recurring texts the same after many other texts pushed them out of what is kept', () => {
    const others = Array.from({ length: 100 }, (_, i) => `SELECT ${i} AS n, 'card 4111 1111 1111 1111' AS c`);
    const texts = recordedTexts([withEmail, ...others, withEmail]);
    expect(texts.at(-1)).toBe(texts[0]);
    for (const text of texts) expect(text).not.toMatch(/4111 1111 1111 1111|ada\.lovelace@/);
  });

  it('masks long texts (beyond what is kept) and cuts them at 64 KiB', () => {
    const long = `SELECT '${'x'.repeat(70 * 1024)}', 'ada.lovelace@example.com'`;
    const [first, second] = recordedTexts([long, long]);
    expect(first!.length).toBeLessThanOrEqual(64 * 1024 + 1);
    expect(second).toBe(first);
  });

  it('masks parameters, which are never kept', () => {
    const { recorder } = memoryRecorder();
    const recording = new StatementRecording(recorder, KEY, 0);
    const param = Buffer.from('ada.lovelace@example.com');
    expect(recording.describeParam(param, 0)).not.toContain('ada.lovelace');
    expect(recording.describeParam(param, 0)).toBe(recording.describeParam(param, 0));
    expect(recording.describeParam(null, 0)).toBe('NULL');
    expect(recording.describeParam(param, 1)).toBe('<binary 24 bytes>');
  });

  it('decodes binary parameters of the number, bool and date types the Parse declared (pgJDBC sends integers in binary), masked like text', () => {
    const { recorder } = memoryRecorder();
    const recording = new StatementRecording(recorder, KEY, 0);
    const int4 = Buffer.alloc(4);
    int4.writeInt32BE(-42);
    const card = Buffer.alloc(8);
    card.writeBigInt64BE(4111111111111111n);
    expect(recording.describeParam(int4, 1, 23)).toBe('-42');
    expect(recording.describeParam(card, 1, 20)).not.toContain('4111111111111111');
    expect(recording.describeParam(Buffer.from([1]), 1, 16)).toBe('t');
    // Without a declared type, or with a length that does not fit it, only the size.
    expect(recording.describeParam(int4, 1)).toBe('<binary 4 bytes>');
    expect(recording.describeParam(int4, 1, 20)).toBe('<binary 4 bytes>');
  });

  it('shows binary numbers and dates in sampled rows as Postgres prints them, other binary values as bytes', () => {
    const date = Buffer.alloc(4);
    date.writeInt32BE(-3_674); // days before 2000-01-01
    const int8 = Buffer.alloc(8);
    int8.writeBigInt64BE(-9_000_000_000n);
    const fields = [23, 1082, 20, 17, 1082].map((typeOid) => ({ typeOid, format: 1 as const, column: undefined }));
    expect(sampleRow([Buffer.from([0, 0, 0, 7]), date, int8, Buffer.from([0xde, 0xad]), Buffer.from([0x7f, 0xff, 0xff, 0xff])], fields)).toEqual(['7', '1989-12-10', '-9000000000', '\\xdead', 'infinity']);
  });
});
