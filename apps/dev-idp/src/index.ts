export { startDevIdp, DEFAULT_RESOURCE, DEFAULT_PORT, DEFAULT_HOST, DEFAULT_KEY_FILE, DEFAULT_TOKEN_TTL_SECONDS, type DevIdp, type DevIdpOptions } from './dev-idp.js';
export { DEMO_CLIENTS, DEV_TENANT_ID, DEV_GROUPS, demoClientSecret, findDemoClient, type DemoClient } from './clients.js';
export { requestClientCredentialsToken, TokenRequestError, IdpUnreachableError } from './token-client.js';
export type { SigningAlg } from './signing-keys.js';
export { WorkloadRoutes } from './workload-routes.js';
export { WorkloadIssuer, WORKLOAD_PLATFORMS, githubClaims, gitlabClaims, kubernetesClaims, spiffeClaims, type WorkloadPlatform, type GithubRun, type GitlabJob, type KubernetesPod } from './workload-issuers.js';
export { FEDERATION_AUDIENCE, JWT_BEARER_ASSERTION } from './client-assertions.js';
export { DEMO_USERS, CONSOLE_CLIENT_ID, demoUserPassword, findDemoUser, type DemoUser } from './users.js';
