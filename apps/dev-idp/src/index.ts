export { startDevIdp, DEFAULT_RESOURCE, DEFAULT_PORT, DEFAULT_HOST, DEFAULT_KEY_FILE, DEFAULT_TOKEN_TTL_SECONDS, type DevIdp, type DevIdpOptions } from './dev-idp.js';
export { DEMO_CLIENTS, DEV_TENANT_ID, DEV_GROUPS, demoClientSecret, findDemoClient, type DemoClient } from './clients.js';
export { requestClientCredentialsToken, TokenRequestError, IdpUnreachableError } from './token-client.js';
export type { SigningAlg } from './signing-keys.js';
