import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError, DomainErrorCode } from './domain-error.js';

/** Validates a body or query against a zod schema; unknown fields are rejected by strict schemas. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown): z.infer<T> {
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
