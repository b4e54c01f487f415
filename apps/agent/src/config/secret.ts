import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A resolved credential or secret. It prints, logs and serializes as `[redacted]`, so passing it
 * to a logger or into a message by mistake never leaks the value; only reveal() gives it out.
 */
export class SecretValue {
  readonly #value: string;

  constructor(
    value: string,
    /** Where the value came from (`env:VAR`, `file:/path`, `literal`), safe to log. */
    readonly source: string,
  ) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `SecretValue(${this.source})`;
  }
}
