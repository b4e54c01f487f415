export { PostgresHandler, type PostgresHandlerOptions } from './postgres-handler.js';
export { EphemeralRoles, ephemeralRoleName, quoteIdent, quoteLiteral } from './ephemeral-roles.js';
export { maskDataRow, TEXT_LIKE_TYPES } from './row-masking.js';
