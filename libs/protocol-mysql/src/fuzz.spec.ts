import { describe, expect, it } from 'vitest';
import { parseBinaryRow } from './binary-row.js';
import { parseCommand } from './commands.js';
import { MysqlProtocolError } from './errors.js';
import { parseHandshakeResponse, parseServerHandshake } from './handshake.js';
import { PacketFramer } from './packets.js';
import { parseErr, parseOk } from './responses.js';
import { parseColumnDefinition, parseTextRow, TYPE } from './result-set.js';

/** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
function randomBytes(seed: number, n: number): Buffer {
  let x = seed || 1;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const parsers: [string, (b: Buffer) => unknown][] = [
  ['server handshake', parseServerHandshake],
  ['handshake response', parseHandshakeResponse],
  ['command', parseCommand],
  ['column definition', parseColumnDefinition],
  ['text row', (b) => parseTextRow(b, 3)],
  ['binary row', (b) => parseBinaryRow(b, [TYPE.LONG, TYPE.VAR_STRING, TYPE.DATETIME])],
  ['OK', (b) => parseOk(b, 0x200)],
  ['ERR', parseErr],
];

describe('random bytes', () => {
  it.each(parsers)('%s: parses or fails with a protocol error, nothing else', (_name, parse) => {
    for (let seed = 1; seed <= 2000; seed++) {
      const input = randomBytes(seed, seed % 200);
      try {
        parse(input);
      } catch (error) {
        if (!(error instanceof MysqlProtocolError)) throw new Error(`seed ${seed}: ${String(error)}`);
      }
    }
  });

  it('the framer either frames random streams or refuses them with a protocol error', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const framer = new PacketFramer({ maxLogicalPacket: 4096 });
      try {
        framer.push(randomBytes(seed, 5000));
      } catch (error) {
        expect(error).toBeInstanceOf(MysqlProtocolError);
      }
    }
  });
});
