#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startAgent } from './agent.js';
import { AgentConfigError, loadAgentConfig } from './config/agent-config.js';
import { createLogger } from './logger.js';

/** Exit codes: 0 stopped by signal, 1 bad config or usage, 2 credential revoked. */
async function main(): Promise<number> {
  let configPath: string | undefined;
  try {
    const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, strict: true });
    configPath = values.config ?? process.env.GW_AGENT_CONFIG;
  } catch (error) {
    process.stderr.write(`gw-agent: ${(error as Error).message}\nusage: gw-agent --config <file>  (or GW_AGENT_CONFIG)\n`);
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
