import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from './config/agent-config.js';

const example = (name: string) => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));

describe('shipped example configs', () => {
  it.each([
    ['agent.yaml', ['redis:tcp', 'postgres-demo:postgres', 'mariadb-demo:mysql', 'ssh-demo:ssh', 'k8s-demo:kubernetes', 'mcp-files:mcp']],
    ['agent.compose.yaml', ['redis:tcp', 'postgres-demo:postgres']],
  ])('%s is valid', (name, resources) => {
    const config = loadAgentConfig(example(name), { env: { GW_AGENT_CREDENTIAL: 'gwa_example' } });
    expect(config.resources.map((r) => `${r.name}:${r.type}`)).toEqual(resources);
  });
});
