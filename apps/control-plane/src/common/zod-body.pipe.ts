import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError, DomainErrorCode, type FieldError } from './domain-error.js';

const NUL_MESSAGE = 'must not contain the NUL character (\\u0000)';

/**
 * Paths of the strings (values and keys) that hold a NUL character. Postgres `text` and `jsonb`
 * cannot store one and refuse the whole statement, so such input is a 400 before it gets there.
 */
function nulFields(value: unknown, path: string[] = [], found: FieldError[] = []): FieldError[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push({ path: path.join('.') || '(body)', message: NUL_MESSAGE });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => nulFields(item, [...path, String(i)], found));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) found.push({ path: [...path, key].join('.'), message: NUL_MESSAGE });
      nulFields(item, [...path, key], found);
    }
  }
  return found;
}

/** Validates a body or query against a zod schema; unknown fields are rejected by strict schemas. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown): z.infer<T> {
    const nul = nulFields(value);
    if (nul.length > 0) throw new DomainError(DomainErrorCode.ValidationFailed, 'request validation failed', { fields: nul });
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
