import { Command, InvalidArgumentError } from 'commander';
import { connectCommand } from './commands/connect.js';
import { kubeCredentialCommand, kubeconfigCommand } from './commands/kubeconfig.js';
import type { CliContext } from './commands/context.js';
import { loginCommand, tokenCommand, type LoginOptions } from './commands/login.js';
import { resourcesCommand } from './commands/resources.js';
import { sshAskpassCommand } from './commands/ssh-askpass.js';
import { whoamiCommand } from './commands/whoami.js';
import { resolveApiUrl } from './settings.js';

export function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return Number(value);
}

export function parseHost(value: string): string {
  if (value.length === 0 || value.length > 255 || !/^[A-Za-z0-9.:-]+$/.test(value)) throw new InvalidArgumentError('expected a host name or IP address');
  return value;
}

/** The `gw` command tree; main.ts runs it, tests run it in-process with their own context. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('gw')
    .description('Access gateway client: log in, list resources, open local tunnels to them')
    .option('--api <url>', 'control plane URL (env GW_API_URL, default http://127.0.0.1:8080)')
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err })
    .showHelpAfterError()
    .exitOverride();
  const api = (): string => resolveApiUrl(program.opts<{ api?: string }>().api, ctx.env);

  program
    .command('login')
    .description('acquire and save a token (and a process attestation) for later commands')
    .option('--dev <client>', 'client-credentials token from the dev IdP (GW_DEV_IDP_URL)')
    .option('--token <jwt>', 'save the given token')
    .option('--method <method>', 'from the workload environment: auto, azure-federated, client-certificate, managed-identity, github-actions, kubernetes')
    .option('--resource <resource>', 'Entra resource for the Azure methods (scope <resource>/.default)', 'api://gateway')
    .option('--audience <aud>', 'audience of a platform token (github-actions)', 'api://gateway')
    .option('--token-file <path>', 'projected service account token file (kubernetes; env GW_KUBERNETES_TOKEN_FILE)')
    .option('--attest <source>', 'also save a process attestation: github-actions, kubernetes, file:<path>, env:<NAME>')
    .option('--attest-audience <aud>', 'audience of the attestation token', 'api://gateway')
    .action((options: LoginOptions) => loginCommand(ctx, options));

  program
    .command('token')
    .description('print the current token, renewed from the workload environment when it nears expiry')
    .option('--with-attestation', 'print <token>~<attestation> (a Postgres or SSH password that carries both)')
    .option('--attestation', 'print only the process attestation')
    .action((options: { withAttestation?: boolean; attestation?: boolean }) => tokenCommand(ctx, options));

  program.command('whoami').description('show who the control plane thinks you are').action(() => whoamiCommand(ctx, api()));

  program
    .command('resources')
    .description('list resources, their status and your access')
    .option('--role <role>', 'the database role or SSH login to ask about (policy may allow connect for some only)')
    .action((opts: { role?: string }) => resourcesCommand(ctx, api(), opts.role));

  program
    .command('connect')
    .description('listen on a local port; each connection becomes a session to <resource>')
    .argument('<resource>', 'resource name')
    .option('--port <n>', 'local port (0 = any free port)', parsePort, 0)
    .option('--host <address>', 'local address to listen on', parseHost, '127.0.0.1')
    .action((resource: string, options: { port: number; host: string }) => connectCommand(ctx, api(), resource, options));

  program
    .command('kubeconfig')
    .description('write a kubeconfig context for the Kubernetes cluster <resource>, reached through the gateway')
    .argument('<resource>', 'resource name (type kubernetes)')
    .option('--kubeconfig <file>', 'file to write or merge into (default: first file of KUBECONFIG, else ~/.kube/config)')
    .option('--namespace <ns>', 'default namespace of the context')
    .option('--no-switch', 'do not make it the current context')
    .action((resource: string, opts: { kubeconfig?: string; namespace?: string; switch: boolean }) => kubeconfigCommand(ctx, api(), resource, opts));

  program
    .command('ssh-askpass')
    .description('SSH_ASKPASS for the gateway SSH endpoint: the token (and attestation), 1023 characters per prompt')
    .argument('[prompt]', 'the prompt OpenSSH passes')
    .action((prompt: string | undefined) => sshAskpassCommand(ctx, prompt));

  program
    .command('kube-credential')
    .description('print an ExecCredential with the current token (kubectl runs this; see gw kubeconfig)')
    .action(() => kubeCredentialCommand(ctx));

  return program;
}
