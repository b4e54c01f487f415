import { DEMO_CLIENTS, findDemoClient } from './clients.js';
import { discoverTokenEndpoint, IdpUnreachableError, requestClientCredentialsToken } from './token-client.js';

/**
 * `npm run -s token -- <client> [--resource <uri>]`: prints a fresh access token for a demo client from
 * the running dev IdP (DEV_IDP_URL, default http://127.0.0.1:9000). Only the token goes to stdout, so
 * `TOKEN=$(npm run -s token -- ai-agent)` works.
 */
const DEFAULT_URL = 'http://127.0.0.1:9000';

function usage(): string {
  return `usage: npm run -s token -- <client> [--resource <uri>]\n  clients: ${DEMO_CLIENTS.map((client) => client.clientId).join(', ')}`;
}

async function main(argv: string[]): Promise<number> {
  const [clientId, ...rest] = argv;
  let resource: string | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    if (rest[i] === '--resource' && rest[i + 1] !== undefined) {
      resource = rest[i + 1];
      i += 1;
    } else {
      console.error(usage());
      return 1;
    }
  }
  if (clientId === undefined || clientId.startsWith('-')) {
    console.error(usage());
    return 1;
  }
  const secret = process.env['DEV_IDP_CLIENT_SECRET'];
  if (findDemoClient(clientId) === undefined && secret === undefined) {
    console.error(`unknown demo client "${clientId}" (set DEV_IDP_CLIENT_SECRET for other clients)\n${usage()}`);
    return 1;
  }
  const baseUrl = process.env['DEV_IDP_URL'] ?? DEFAULT_URL;
  try {
    const tokenEndpoint = await discoverTokenEndpoint(baseUrl);
    const token = await requestClientCredentialsToken(tokenEndpoint, clientId, {
      ...(secret !== undefined ? { secret } : {}),
      ...(resource !== undefined ? { resource } : {}),
    });
    process.stdout.write(`${token}\n`);
    return 0;
  } catch (error) {
    if (error instanceof IdpUnreachableError) {
      console.error(`dev IdP not reachable at ${baseUrl}, start it with npm start`);
    } else {
      console.error(error instanceof Error ? error.message : String(error));
    }
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
