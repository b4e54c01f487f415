import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

const feed = (chunks: string[]) => {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
};

describe('SseParser', () => {
  const stream = ': connected\n\nid: 7\nevent: approval.requested\ndata: {"a":1}\n\n: heartbeat\n\nevent: token_expired\ndata: {}\n\n';

  it('parses events with type, id and data, and skips comments', () => {
    expect(feed([stream])).toEqual([
      { type: 'approval.requested', id: '7', data: '{"a":1}' },
      { type: 'token_expired', id: '7', data: '{}' },
    ]);
  });

  it('gives the same events whatever the chunk boundaries, CRLF included', () => {
    const crlf = stream.replace(/\n/g, '\r\n');
    const whole = feed([crlf]);
    for (let i = 1; i < crlf.length; i++) expect(feed([crlf.slice(0, i), crlf.slice(i)])).toEqual(whole);
    expect(feed(crlf.split(''))).toEqual(whole);
  });

  it('joins multi-line data, defaults the type to message and ignores blocks without data', () => {
    expect(feed(['data: one\ndata:two\n\nevent: x\n\n'])).toEqual([{ type: 'message', data: 'one\ntwo' }]);
  });

  it('refuses an endless line rather than buffering without bound', () => {
    const p = new SseParser();
    expect(() => p.push('data: ' + 'x'.repeat(1024 * 1024 + 1))).toThrow(/too long/);
  });
});
