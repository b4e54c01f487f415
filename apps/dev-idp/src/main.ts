import { DEMO_CLIENTS } from './clients.js';
import { startDevIdp } from './dev-idp.js';
import { devIdpOptionsFromEnv } from './env.js';

async function main(): Promise<void> {
  const options = devIdpOptionsFromEnv(process.env);
  const idp = await startDevIdp(options);
  console.log(`dev IdP (NOT for production) listening: issuer ${idp.issuer}`);
  console.log(`  discovery: ${idp.issuer}/.well-known/openid-configuration`);
  console.log(`  demo clients (secret "<client>-secret"): ${DEMO_CLIENTS.map((client) => client.clientId).join(', ')}`);
  console.log(`  workload issuers: ${[...idp.workloads.issuers.values()].map((issuer) => issuer.issuer).join(', ')}`);
  console.log(`  Entra-style token endpoint (client assertions): ${idp.workloads.entraTokenEndpoint}`);
  console.log(`  managed identity: IDENTITY_ENDPOINT=${idp.issuer}/msi/token IDENTITY_HEADER=${idp.workloads.identityHeader}; IMDS: GW_IMDS_ENDPOINT=${idp.issuer}`);
  const shutdown = (): void => {
    idp.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(`dev IdP failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
