import { Masker } from '@gw/masking';
import { describe, expect, it } from 'vitest';
import { ChannelTextMasker, completeUtf8Length } from './channel-text-masker.js';

const masker = new Masker({ entities: [{ entity: 'email', style: 'full' }, { entity: 'card', style: 'full' }], columns: [] }, { key: 'k'.repeat(32) });

function channel(holdMs = 10_000) {
  const out: Buffer[] = [];
  const m = new ChannelTextMasker(masker, (bytes) => out.push(bytes), holdMs);
  return { m, out, all: () => Buffer.concat(out) };
}

describe('ChannelTextMasker', () => {
  it('masks a value in UTF-16 (either byte order), hex or base64 output, cut between messages at every offset', () => {
    const line = 'user 1 ada@example.com card 4111 1111 1111 1111';
    const masked = 'user 1 ***@*******.*** card **** **** **** ****';
    const views: [Buffer, Buffer][] = [
      [Buffer.from(`${line}\n`, 'utf16le'), Buffer.from(`${masked}\n`, 'utf16le')],
      [Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(`${line}\n`, 'utf16le').swap16()]), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(`${masked}\n`, 'utf16le').swap16()])],
      [Buffer.from(`${Buffer.from(line).toString('hex')}\n`), Buffer.from(`${Buffer.from(masked).toString('hex')}\n`)],
      [Buffer.from(`${Buffer.from(line).toString('base64')}\n`), Buffer.from(`${Buffer.from(masked).toString('base64')}\n`)],
    ];
    for (const [bytes, expected] of views) {
      for (let cut = 0; cut <= bytes.length; cut += 7) {
        const { m, all } = channel();
        m.write(bytes.subarray(0, cut));
        m.write(bytes.subarray(cut));
        m.close();
        expect(all().equals(expected), `cut at ${cut}: ${JSON.stringify(all().toString('latin1'))}`).toBe(true);
      }
    }
  });

  it('masks a value cut between messages at every offset, and releases each complete line at once', () => {
    const text = Buffer.from('user 1 ada@example.com card 4111 1111 1111 1111\nnext line\n');
    for (let cut = 0; cut <= text.length; cut++) {
      const { m, all } = channel();
      m.write(text.subarray(0, cut));
      m.write(text.subarray(cut));
      expect(all().toString()).toBe('user 1 ***@*******.*** card **** **** **** ****\nnext line\n');
      m.close();
    }
  });

  it('keeps a character cut between messages whole, and unmasked UTF-8 byte for byte', () => {
    const text = Buffer.from('héllo wörld 用户\n');
    for (let cut = 0; cut <= text.length; cut++) {
      const { m, all } = channel();
      m.write(text.subarray(0, cut));
      m.write(text.subarray(cut));
      m.close();
      expect(all().equals(text)).toBe(true);
    }
  });

  it('passes binary data byte for byte (a tar stream), masking only the ASCII values in it, cut or not', () => {
    const binary = Buffer.concat([Buffer.from('ustar\0'), Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]), Buffer.from(' to ada@example.com '), Buffer.from([0x9f, 0xff])]);
    const masked = Buffer.from(binary.toString('latin1').replace('ada@example.com', '***@*******.***'), 'latin1');
    for (let cut = 0; cut <= binary.length; cut++) {
      const { m, all } = channel();
      m.write(binary.subarray(0, cut));
      m.write(binary.subarray(cut));
      m.close();
      expect(all().equals(masked)).toBe(true);
    }
  });

  it('releases a line without a line break after a pause (a prompt), and everything at close', async () => {
    const { m, all } = channel(20);
    m.write(Buffer.from('Password: '));
    expect(all().toString()).toBe('');
    await new Promise((r) => setTimeout(r, 60));
    expect(all().toString()).toBe('Password: ');
    m.write(Buffer.from('bye ada@exa'));
    m.close();
    expect(all().toString()).toBe('Password: bye ada@exa');
  });

  it('finds where the last complete UTF-8 character ends', () => {
    const e = Buffer.from('é'); // c3 a9
    const han = Buffer.from('用'); // e7 94 a8
    expect(completeUtf8Length(Buffer.concat([Buffer.from('a'), e]))).toBe(3);
    expect(completeUtf8Length(Buffer.concat([Buffer.from('a'), e.subarray(0, 1)]))).toBe(1);
    expect(completeUtf8Length(Buffer.concat([Buffer.from('a'), han.subarray(0, 2)]))).toBe(1);
    expect(completeUtf8Length(han)).toBe(3);
    expect(completeUtf8Length(Buffer.from([0x80, 0x80, 0x80, 0x80]))).toBe(4);
  });
});
