import { describe, expect, it } from 'vitest';
import { prng } from '../test/support/bytes.js';
import { BACKEND_SAMPLES, FRONTEND_SAMPLES } from '../test/support/samples.js';
import { BackendParser } from './backend-parser.js';
import { serializeBackend } from './backend-serialize.js';
import { ProtocolError } from './errors.js';
import { FrontendParser } from './frontend-parser.js';
import { serializeFrontend, startupMessage } from './frontend-serialize.js';
import type { ProtocolLimits } from './limits.js';

const SEED = 0x5eed_2026;
const CASES = 1500;
// Small limits make the "never buffers beyond a limit" check bite on short random inputs.
const LIMITS: Partial<ProtocolLimits> = { maxStartupPacket: 64, maxMessage: 96, maxCopyData: 128, maxParams: 8, maxFields: 8 };

type AnyParser = { parseAll(chunk: Buffer): { raw: Buffer }[]; bufferedBytes: number };

const validFrontend = Buffer.concat([startupMessage({ user: 'u' }), ...FRONTEND_SAMPLES.map(serializeFrontend)]);
const validBackend = Buffer.concat(BACKEND_SAMPLES.map(serializeBackend));

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** Flips, inserts, deletes or truncates a few bytes of a valid stream. */
function mutate(rand: () => number, source: Buffer): Buffer {
  const b = Buffer.from(source);
  const edits = 1 + Math.floor(rand() * 4);
  let out = b;
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * out.length);
    const op = Math.floor(rand() * 4);
    if (op === 0) out[at] = Math.floor(rand() * 256);
    else if (op === 1) out = Buffer.concat([out.subarray(0, at), randomBytes(rand, 1 + Math.floor(rand() * 4)), out.subarray(at)]);
    else if (op === 2) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else out = out.subarray(0, at);
  }
  return out;
}

/** Feeds the input in random chunks; returns the error thrown, if any, after checking the bounds. */
function feed(rand: () => number, parser: AnyParser, input: Buffer, frameLimit: number): unknown {
  let i = 0;
  try {
    while (i < input.length) {
      const n = 1 + Math.floor(rand() * 40);
      for (const m of parser.parseAll(input.subarray(i, i + n))) expect(m.raw.length).toBeLessThanOrEqual(frameLimit);
      i += n;
      // Only an incomplete frame whose header passed the limits may stay buffered.
      expect(parser.bufferedBytes).toBeLessThan(Math.max(frameLimit, 5));
    }
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    // A failed parser stays failed with the same error: the stream cannot be resynchronised.
    expect(() => parser.parseAll(Buffer.from([0]))).toThrow(err);
    return err;
  }
  return undefined;
}

const frontendLimit = Math.max(LIMITS.maxMessage!, LIMITS.maxCopyData!) + 1;

describe(`fuzz (seed ${SEED}, ${CASES} cases per strategy)`, () => {
  it('random bytes only ever raise ProtocolError and never buffer beyond the limits', () => {
    const rand = prng(SEED);
    let errors = 0;
    for (let c = 0; c < CASES; c++) {
      const input = randomBytes(rand, Math.floor(rand() * 300));
      if (feed(rand, new FrontendParser({ limits: LIMITS }), input, Math.max(frontendLimit, LIMITS.maxStartupPacket!))) errors++;
      if (feed(rand, new FrontendParser({ limits: LIMITS, startupDone: true }), input, frontendLimit)) errors++;
      if (feed(rand, new BackendParser({ limits: LIMITS }), input, frontendLimit)) errors++;
    }
    // Random noise is almost never a valid stream: make sure the parsers did reject it.
    expect(errors).toBeGreaterThan(CASES * 2.5);
  });

  it('mutated valid streams only ever raise ProtocolError', () => {
    const rand = prng(SEED + 1);
    let accepted = 0;
    for (let c = 0; c < CASES; c++) {
      if (!feed(rand, new FrontendParser(), mutate(rand, validFrontend), 65 * 1024 * 1024)) accepted++;
      if (!feed(rand, new BackendParser(), mutate(rand, validBackend), 65 * 1024 * 1024)) accepted++;
    }
    // Some mutations stay valid (a changed character inside a string); most must not.
    expect(accepted).toBeLessThan(CASES * 2);
  });

  it('unmodified valid streams in random chunks parse without error', () => {
    const rand = prng(SEED + 2);
    for (let c = 0; c < 100; c++) {
      expect(feed(rand, new FrontendParser(), validFrontend, 65 * 1024 * 1024)).toBeUndefined();
      expect(feed(rand, new BackendParser(), validBackend, 65 * 1024 * 1024)).toBeUndefined();
    }
  });
});
