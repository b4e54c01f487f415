import type { PolicySetError } from './policy-info.js';

/** Thrown by `PolicyEngine.compile` for a policy set that fails validation; carries every problem found. */
export class PolicyValidationError extends Error {
  override readonly name = 'PolicyValidationError';

  constructor(readonly errors: readonly PolicySetError[]) {
    super(
      `invalid policy set (${errors.length} problem${errors.length === 1 ? '' : 's'}): ` +
        errors
          .slice(0, 10)
          .map((e) => e.message)
          .join('; '),
    );
  }
}
