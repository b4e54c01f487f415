#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startAgent } from './agent.js';
import { AgentConfigError, loadAgentConfig } from './config/agent-config.js';
import { createLogger } from './logger.js';
import { caPublicKeyLine, loadOrCreateCaKey } from './protocols/ssh/ssh-ca.js';
import { join } from 'node:path';

/**
 * `gw-agent ssh-ca-public-key --config <file>`: prints the `TrustedUserCAKeys` line of each ssh
 * resource's CA (made now if missing), one per distinct key file, with the resources it serves.
 */
function printSshCaKeys(config: ReturnType<typeof loadAgentConfig>): number {
  const byFile = new Map<string, string[]>();
  for (const r of config.resources) {
    if (r.type !== 'ssh' || !r.ssh || r.ssh.mode !== 'certificate') continue;
    const file = r.ssh.caKeyFile ?? join(config.spoolDir, 'ssh-ca.key');
    byFile.set(file, [...(byFile.get(file) ?? []), r.name]);
  }
  if (byFile.size === 0) {
    process.stderr.write('gw-agent: no ssh resource in certificate mode in this config\n');
    return 1;
  }
  for (const [file, names] of byFile) process.stdout.write(`${caPublicKeyLine(loadOrCreateCaKey(file), `gw-agent-ca:${names.join(',')}`)}\n`);
  return 0;
}

/** Exit codes: 0 stopped by signal, 1 bad config or usage, 2 credential revoked. */
async function main(): Promise<number> {
  let configPath: string | undefined;
  let command: string | undefined;
  try {
    const { values, positionals } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, strict: true, allowPositionals: true });
    configPath = values.config ?? process.env.GW_AGENT_CONFIG;
    command = positionals[0];
    if (positionals.length > 1 || (command !== undefined && command !== 'ssh-ca-public-key')) throw new Error(`unknown command ${positionals.join(' ')}`);
  } catch (error) {
    process.stderr.write(`gw-agent: ${(error as Error).message}\nusage: gw-agent [ssh-ca-public-key] --config <file>  (or GW_AGENT_CONFIG)\n`);
    return 1;
  }
  if (!configPath) {
    process.stderr.write('gw-agent: no config file; pass --config <file> or set GW_AGENT_CONFIG\n');
    return 1;
  }
  let config;
  try {
    config = loadAgentConfig(configPath);
  } catch (error) {
    if (error instanceof AgentConfigError) {
      process.stderr.write(`gw-agent: ${configPath}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  if (command === 'ssh-ca-public-key') return printSshCaKeys(config);

  const log = createLogger(config.logLevel);
  const agent = await startAgent(config, { logger: log });
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'stopping');
    void agent.close();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const outcome = await agent.stopped;
  if (outcome.kind === 'revoked') {
    log.fatal({ reason: outcome.reason }, 'agent credential revoked; register the agent again');
    return 2;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Give pino and the socket a moment to flush, then leave even if a handle lingers.
    setTimeout(() => process.exit(code), 500).unref();
  },
  (error: unknown) => {
    process.stderr.write(`gw-agent: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
