import { z } from 'zod';

/** A configuration value the identity library cannot work with. Names the source (e.g. the env var). */
export class IdentityConfigError extends Error {
  override readonly name = 'IdentityConfigError';
}

/** Accepts either the raw JSON text (as found in an env var) or an already parsed value. */
export function parseJsonConfig<T>(schema: z.ZodType<T>, input: unknown, source: string): T {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new IdentityConfigError(`${source} is not valid JSON`, { cause });
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new IdentityConfigError(`${source} is invalid:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
