import { readFileSync, statSync } from 'node:fs';
import { SecretValue } from './secret.js';

/** A secret file larger than this is a mistake (a key or token is a few KiB at most). */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;
export const MAX_SECRET_REF_LENGTH = 4096;

export interface SecretRefContext {
  env: Readonly<Record<string, string | undefined>>;
}

/** Why a reference could not be resolved; the message never contains the value. */
export class SecretRefError extends Error {
  override readonly name = 'SecretRefError';
}

/**
 * Resolves `env:VAR`, `file:/path` or `literal:value`. Literals exist for tests and demos: a real
 * deployment keeps secrets out of the config file. A file's trailing newline is dropped (editors add one).
 */
export function resolveSecretRef(ref: string, ctx: SecretRefContext): SecretValue {
  if (ref.length > MAX_SECRET_REF_LENGTH) throw new SecretRefError(`reference longer than ${MAX_SECRET_REF_LENGTH} characters`);
  const colon = ref.indexOf(':');
  const scheme = colon > 0 ? ref.slice(0, colon) : '';
  const rest = colon > 0 ? ref.slice(colon + 1) : '';
  switch (scheme) {
    case 'env': {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(rest)) throw new SecretRefError(`"${rest}" is not an environment variable name`);
      const value = ctx.env[rest];
      if (value === undefined || value === '') throw new SecretRefError(`environment variable ${rest} is not set`);
      return new SecretValue(value, `env:${rest}`);
    }
    case 'file': {
      if (!rest.startsWith('/')) throw new SecretRefError('file: references need an absolute path');
      let size: number;
      try {
        size = statSync(rest).size;
      } catch (error) {
        throw new SecretRefError(`cannot read ${rest}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (size > MAX_SECRET_FILE_BYTES) throw new SecretRefError(`${rest} is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
      let text: string;
      try {
        text = readFileSync(rest, 'utf8');
      } catch (error) {
        throw new SecretRefError(`cannot read ${rest}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      const value = text.replace(/\r?\n$/, '');
      if (value === '') throw new SecretRefError(`${rest} is empty`);
      return new SecretValue(value, `file:${rest}`);
    }
    case 'literal':
      if (rest === '') throw new SecretRefError('literal: value is empty');
      return new SecretValue(rest, 'literal');
    default:
      throw new SecretRefError('expected env:VAR, file:/absolute/path or literal:value');
  }
}
