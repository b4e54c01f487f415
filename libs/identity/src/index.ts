export * from './principal.js';
export { TOKEN_REJECTION_CODES, TokenRejectedError, buildWwwAuthenticate, type TokenRejectionCode } from './errors.js';
export { IdentityConfigError } from './config-error.js';
export { issuerConfigSchema, issuersConfigSchema, parseIssuersConfig, TENANT_PLACEHOLDER, type IssuerConfig } from './issuer-config.js';
export { roleMappingsSchema, parseRoleMappings, mapGatewayRoles, DEFAULT_ROLE_MAPPINGS, type RoleMappings, type RoleSource } from './role-mapping.js';
export { readUnverifiedTokenId, MAX_TOKEN_LENGTH } from './unverified.js';
export { classifyKind } from './claims.js';
export { TokenVerifier, ALLOWED_ALGORITHMS, MAX_CLOCK_SKEW_SECONDS, type TokenVerifierOptions } from './token-verifier.js';
export type { KeyResolverOptions } from './key-resolver.js';
