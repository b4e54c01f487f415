import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AGENT_NODE_FLAGS } from '../../tools/node-flags.mjs';

/** A real agent process (the built `apps/agent/dist/main.js`, with the Node flags it ships with), for kill and memory tests. */
export interface AgentProcess {
  child: ChildProcess;
  rssBytes(): number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnAgentOptions {
  controlPlaneUrl: string;
  credential: string;
  /** Extra fields of a resource entry (credentials, postgres options) are passed through. */
  resources: { name: string; type: string; address?: string; labels?: Record<string, string>; [extra: string]: unknown }[];
  /** Reuse a directory (config and spool) of an earlier agent process: a restart rather than a new agent. */
  dir?: string;
  /** More top-level config fields (e.g. `recording`). */
  config?: Record<string, unknown>;
}

export function spawnAgent(opts: SpawnAgentOptions): AgentProcess & { dir: string } {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gw-agent-'));
  const configFile = join(dir, 'agent.yaml');
  writeFileSync(configFile, stringify({
    controlPlane: { url: opts.controlPlaneUrl },
    auth: { credential: 'env:GW_AGENT_CREDENTIAL' },
    resources: opts.resources.map((r) => ({ labels: {}, ...r })),
    spoolDir: join(dir, 'spool'),
    logLevel: 'warn',
    ...opts.config,
  }));
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, 'apps/agent/dist/main.js', '--config', configFile], {
    env: { ...process.env, GW_AGENT_CREDENTIAL: opts.credential },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    dir,
    child,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return Number(kb) * 1024;
    },
    kill(signal = 'SIGKILL') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
}
