/**
 * Domain errors carry a code; each transport (HTTP here, Postgres wire and SSH later) maps
 * codes once, with an exhaustive switch. No HTTP types in domain code.
 */
export enum DomainErrorCode {
  ValidationFailed = 'validation_failed',
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  Conflict = 'conflict',
  PolicyInvalid = 'policy_invalid',
  Unavailable = 'unavailable',
}

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: { fields?: FieldError[]; [key: string]: unknown },
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super(DomainErrorCode.NotFound, `${what} ${id} not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super(DomainErrorCode.Conflict, message);
  }
}
