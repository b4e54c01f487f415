import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError, DomainErrorCode, type FieldError } from './domain-error.js';

const NUL_MESSAGE = 'must not contain the NUL character (\\u0000)';

/**
 * How deeply a body or query may nest arrays and objects. No route's schema goes beyond a few
 * levels (a dry-run `context` is the deepest); JSON.parse accepts any depth, and a body of a
 * megabyte of `[` would otherwise be walked until the stack overflows (a 500 instead of a 400).
 */
export const MAX_INPUT_DEPTH = 64;

/**
 * Paths of the strings (values and keys) that hold a NUL character, and of values nested deeper than
 * MAX_INPUT_DEPTH. Postgres `text` and `jsonb` cannot store a NUL and refuse the whole statement, so
 * such input is a 400 before it gets there. Walked with an explicit stack, never by recursion.
 */
function inputProblems(value: unknown): FieldError[] {
  const found: FieldError[] = [];
  const pending: { value: unknown; path: string[]; nulKey?: boolean }[] = [{ value, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: item, path, nulKey } = next;
    if (nulKey) found.push({ path: path.join('.'), message: NUL_MESSAGE });
    if (typeof item === 'string') {
      if (item.includes('\u0000')) found.push({ path: path.join('.') || '(body)', message: NUL_MESSAGE });
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (path.length >= MAX_INPUT_DEPTH) {
      // One finding for the deepest branch is enough; its path is cut so the answer stays small.
      return [{ path: path.slice(0, 8).join('.') + '…', message: `nested deeper than ${MAX_INPUT_DEPTH} levels of arrays and objects` }];
    }
    const entries: (readonly [string, unknown])[] = Array.isArray(item) ? item.map((v: unknown, i) => [String(i), v] as const) : Object.entries(item as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const [key, child] = entries[i]!;
      pending.push({ value: child, path: [...path, key], nulKey: !Array.isArray(item) && key.includes('\u0000') });
    }
  }
  return found;
}

/** Validates a body or query against a zod schema; unknown fields are rejected by strict schemas. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown): z.infer<T> {
    const problems = inputProblems(value);
    if (problems.length > 0) throw new DomainError(DomainErrorCode.ValidationFailed, 'request validation failed', { fields: problems });
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const fields = result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || '(body)',
      message:
        issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
    }));
    throw new DomainError(DomainErrorCode.ValidationFailed, 'request validation failed', { fields });
  }
}
