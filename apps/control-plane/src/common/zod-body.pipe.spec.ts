import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DomainError } from './domain-error.js';
import { MAX_INPUT_DEPTH, ZodPipe } from './zod-body.pipe.js';

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a refusal');
}

const nested = (open: string, close: string, depth: number) => JSON.parse(open.repeat(depth) + (open === '{"a":' ? '1' : '') + close.repeat(depth)) as unknown;

describe('ZodPipe', () => {
  const loose = new ZodPipe(z.strictObject({ context: z.unknown() }));

  it('refuses a body nested too deeply with a 400 naming the depth, not a stack overflow', () => {
    for (const value of [nested('[', ']', 200_000), nested('{"a":', '}', 150_000)]) {
      const error = refusal(() => new ZodPipe(z.strictObject({ resource: z.string() })).transform(value));
      expect(error.code).toBe('validation_failed');
      expect(error.details?.fields).toEqual([{ path: expect.stringMatching(/…$/), message: `nested deeper than ${MAX_INPUT_DEPTH} levels of arrays and objects` }]);
    }
    expect(refusal(() => loose.transform({ context: nested('[', ']', MAX_INPUT_DEPTH) })).details?.fields?.[0]?.message).toMatch(/nested deeper/);
  });

  it('accepts nesting up to the limit', () => {
    const context = nested('[', ']', MAX_INPUT_DEPTH - 1);
    expect(loose.transform({ context })).toEqual({ context });
  });

  it('still names every NUL in values and keys, in order', () => {
    const error = refusal(() => loose.transform({ context: { a: ['ok', 'x\u0000'], 'k\u0000': 'v', b: { c: '\u0000' } } }));
    expect(error.details?.fields?.map((f) => f.path)).toEqual(['context.a.1', 'context.k\u0000', 'context.b.c']);
  });
});
