import { describe, expect, it } from 'vitest';
import { Masker } from './masker.js';
import { StreamMasker } from './stream-masker.js';
import { keepControlSequences, terminalView } from './terminal-text.js';

const masker = new Masker({ entities: [{ entity: 'email', style: 'full' }, { entity: 'card', style: 'full' }], columns: [] }, { key: 'k'.repeat(32) });
const joined = (pieces: readonly (readonly [number, string])[]): string => pieces.map(([, t]) => t).join('');

describe('terminalView', () => {
  it.each([
    ['CSI colour', 'a\x1b[01;31mb\x1b[mc', 'abc'],
    ['CSI private mode and erase', '\x1b[?2004h\x1b[Kx', 'x'],
    ['OSC ended by BEL and by ST', '\x1b]0;t\x07a\x1b]8;;http://x\x1b\\b', 'ab'],
    ['DCS string', '\x1bPq#0\x1b\\z', 'z'],
    ['8-bit CSI', '\x9b1mq\x9b0m', 'q'],
    ['charset and save-cursor escapes', '\x1b(Ba\x1b7b', 'ab'],
    ['no control sequence', 'plain €', 'plain €'],
  ])('leaves out %s', (_name, text, visible) => {
    const view = terminalView(text);
    expect(view.visible).toBe(visible);
    for (let i = 0; i < visible.length; i++) expect(text[view.originalOffset(i)]).toBe(visible[i]);
  });

  it('keeps control sequences in place around a mask of the same length, else after it', () => {
    expect(keepControlSequences('ab\x1b[1mcd\x1b[0m', '****')).toBe('**\x1b[1m**\x1b[0m');
    expect(keepControlSequences('ab\x1b[1mcd\x1b[0m', 'h:1')).toBe('h:1\x1b[1m\x1b[0m');
  });
});

describe('StreamMasker', () => {
  it('holds the current line, releases it at a line break, and keeps each piece its tag', () => {
    const stream = new StreamMasker<number>(masker);
    expect(stream.write('mail ada@exa', 1)).toEqual([]);
    expect(stream.heldSince()).toBe(1);
    expect(stream.write('mple.com\nnext', 2)).toEqual([[1, 'mail ***@***'], [2, '****.***\n']]);
    expect(stream.heldSince()).toBe(2);
    expect(stream.end()).toEqual([[2, 'next']]);
    expect(stream.heldSince()).toBeUndefined();
  });

  it('releases a long line beyond the carry, but never through a value', () => {
    const stream = new StreamMasker<number>(masker, 32);
    // 51 characters: 32 held would cut the card; the cut moves to where the card starts.
    const out = [...stream.write(`${'x'.repeat(10)} 4111 1111 1111 1111 ${'y'.repeat(20)}`, 1)];
    expect(joined(out)).toBe(`${'x'.repeat(10)} `);
    out.push(...stream.write('z'.repeat(40), 2));
    expect(joined(out)).toBe(`${'x'.repeat(10)} **** **** **** **** ${'y'.repeat(20)}${'z'.repeat(8)}`);
    out.push(...stream.end());
    expect(joined(out)).toBe(`${'x'.repeat(10)} **** **** **** **** ${'y'.repeat(20)}${'z'.repeat(40)}`);
  });

  it('reads the text before released text (look-behinds see the digit before a run)', () => {
    const stream = new StreamMasker<number>(masker, 4);
    // `94111111111111111` is no card: 17 digits. Released in pieces, the 16 after the 9 must not become one.
    const out = [...stream.write('9', 1), ...stream.write('4111111111111111', 2), ...stream.end()];
    expect(joined(out)).toBe('94111111111111111');
  });

  it('masks a private key that is shown without its END line (`head` of a key file), and an OpenPGP key', () => {
    const keys = new Masker({ entities: [{ entity: 'cloud_key', style: 'full' }], columns: [] }, { key: 'k'.repeat(32) });
    const line = 'MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB';
    const stream = new StreamMasker<number>(keys);
    const out = [
      ...stream.write('$ head -3 id_rsa\r\n-----BEGIN RSA PRIVATE KEY-----\r\n', 1),
      ...stream.write(`${line}\r\n${line}\r\n`, 2),
      ...stream.write('$ ', 3),
      ...stream.end(),
    ];
    const hidden = line.replace(/[A-Za-z0-9]/g, '*');
    expect(joined(out)).toBe(`$ head -3 id_rsa\r\n-----BEGIN RSA PRIVATE KEY-----\r\n${hidden}\r\n${hidden}\r\n$ `);

    const pgp = new StreamMasker<number>(keys);
    const armoured = [
      ...pgp.write('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n', 1),
      ...pgp.write(`${line}\n`, 2),
      ...pgp.write('-----END PGP PRIVATE KEY BLOCK-----\n', 3),
      ...pgp.end(),
    ];
    expect(joined(armoured)).toBe(`-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${hidden}\n-----END PGP PRIVATE KEY BLOCK-----\n`);
  });
});

describe('StreamMasker and escaped text', () => {
  it('masks an address percent-encoded in a logged URL', () => {
    const stream = new StreamMasker<number>(masker);
    const out = [...stream.write('GET /unsubscribe?e=ada%40exa', 1), ...stream.write('mple.com HTTP/1.1\n', 2), ...stream.end()];
    expect(joined(out)).toBe('GET /unsubscribe?e=***%40*******.*** HTTP/1.1\n');
  });
});

describe('terminal control sequences (red team)', () => {
  it('masks the body of a window title or hyperlink target in a stream, at every split point', () => {
    const text = '\x1b]0;ada@example.com: ~\x07$ \x1b]8;;mailto:bob@example.com\x1b\\mail\x1b]8;;\x1b\\\n';
    const expected = '\x1b]0;***@*******.***: ~\x07$ \x1b]8;;mailto:***@*******.***\x1b\\mail\x1b]8;;\x1b\\\n';
    for (let i = 0; i <= text.length; i++) {
      const stream = new StreamMasker<number>(masker);
      expect(joined([...stream.write(text.slice(0, i), 1), ...stream.write(text.slice(i), 2), ...stream.end()])).toBe(expected);
    }
  });

  it('maskEntities (command output, pod logs) reads values as the terminal shows them and leaves the sequences intact', () => {
    expect(masker.maskEntities('\x1b[01;31m\x1b[Kada\x1b[m\x1b[K@example.com')).toBe('\x1b[01;31m\x1b[K***\x1b[m\x1b[K@*******.***');
    expect(masker.maskEntities('\x1b[32m4111\x1b[0m 1111 1111 1111 ok')).toBe('\x1b[32m****\x1b[0m **** **** **** ok');
    expect(masker.maskEntities('\x1b]0;ada@example.com: ~\x07$ ls')).toBe('\x1b]0;***@*******.***: ~\x07$ ls');
    expect(masker.maskEntities('\x1b]8;;mailto:ada@example.com\x1b\\ada@example.com\x1b]8;;\x1b\\')).toBe('\x1b]8;;mailto:***@*******.***\x1b\\***@*******.***\x1b]8;;\x1b\\');
  });
});
