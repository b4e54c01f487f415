import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { resourceDeclarationSchema } from '@gw/contracts';
import { DomainError, DomainErrorCode } from './domain-error.js';

/** Largest value of a Postgres `integer` column (int4). */
export const INT4_MAX = 2_147_483_647;

/**
 * Canonical 8-4-4-4-12 hex form. Postgres would also take braces, no hyphens and other spellings;
 * the API takes one spelling so that every id has one URL. Any version (ids made elsewhere, the nil id).
 */
const uuidText = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID (8-4-4-4-12 hexadecimal digits)');

/** A policy version number: the `integer` column `policy_versions.version`, counted from 1. */
const policyVersionText = z
  .string()
  .regex(/^[0-9]{1,10}$/, `must be a policy version number: an integer from 1 to ${INT4_MAX}`)
  .transform(Number)
  .refine((n) => n >= 1 && n <= INT4_MAX, `must be a policy version number: an integer from 1 to ${INT4_MAX}`);

/**
 * Validates one path parameter with a zod schema. A bad value is a 400 that names the parameter
 * (`metadata.data` is the name given to `@Param`), so the database never sees a value it would
 * refuse with an error of its own (which would be a 500).
 */
export class PathParamPipe<T extends z.ZodType<unknown, string>> implements PipeTransform<string, z.infer<T>> {
  constructor(private readonly schema: T) {}

  transform(value: string, metadata: ArgumentMetadata): z.infer<T> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const name = metadata.data ?? 'parameter';
    const message = result.error.issues[0]?.message ?? 'is not valid';
    throw new DomainError(DomainErrorCode.ValidationFailed, `invalid path parameter "${name}": ${message}`, { fields: [{ path: name, message }] });
  }
}

export const uuidParam = new PathParamPipe(uuidText);
export const policyVersionParam = new PathParamPipe(policyVersionText);
/** A resource's name, as agents declare it: anything else names no resource. */
export const resourceNameParam = new PathParamPipe(resourceDeclarationSchema.shape.name);
