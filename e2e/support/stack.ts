import { rm } from 'node:fs/promises';
import pino from 'pino';
import { startAgent, validateAgentConfig, type AgentHandle } from '@gw/agent';
import { startHarness, type Harness } from '../../apps/control-plane/test/support/harness.js';
import { PgEndpoint } from '../../apps/control-plane/src/pg-endpoint/pg-endpoint.service.js';
import { SshEndpoint } from '../../apps/control-plane/src/ssh-endpoint/ssh-endpoint.service.js';
import { K8sEndpoint } from '../../apps/control-plane/src/k8s-endpoint/k8s-endpoint.service.js';
import { MysqlEndpoint } from '../../apps/control-plane/src/mysql-endpoint/mysql-endpoint.service.js';

export interface StackResource {
  name: string;
  type: 'postgres' | 'mysql' | 'ssh' | 'kubernetes' | 'tcp' | 'mcp';
  /** host:port; none for an MCP server (a command or a URL in `extra.mcp`). */
  address?: string;
  labels?: Record<string, string>;
  /** Extra YAML-shaped fields of the agent's resource entry (credentials, postgres options ...). */
  extra?: Record<string, unknown>;
}

export interface Stack {
  cp: Harness;
  admin: string;
  pgPort: number;
  /** The MySQL wire endpoint's port. */
  mysqlPort: number;
  sshPort: number;
  /** The Kubernetes endpoint: https://127.0.0.1:<port> (clusters at /k8s/<resource>) and its certificate. */
  k8s: { server: string; certificateAuthority: string };
  agents: AgentHandle[];
  /** Registers and starts one more agent serving these resources. */
  addAgent(name: string, resources: StackResource[]): Promise<AgentHandle>;
  activatePolicy(text: string): Promise<void>;
  waitOnline(resource: string, online?: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * The whole system in one process: control plane (own database, Redis prefix, dev IdP) and real
 * edge agents dialling it over socket.io, as `npm start` runs them but on random ports.
 */
export async function startStack(opts: { resources?: StackResource[]; policy?: string; env?: Record<string, string>; spoolDir?: string; extraIssuers?: { issuer: string; audience: string }[]; agentControlPlane?: Record<string, unknown>; issuersFor?: (idpIssuer: string) => object[] } = {}): Promise<Stack> {
  const cp = await startHarness(opts.env, { extraIssuers: opts.extraIssuers ?? [], ...(opts.issuersFor ? { issuersFor: opts.issuersFor } : {}) });
  const admin = await cp.token('security-admin');
  const agents: AgentHandle[] = [];
  /** Spool directories this stack made up (not ones the test chose): removed at close. */
  const ownSpools: string[] = [];
  const stack: Stack = {
    cp,
    admin,
    pgPort: cp.app.get(PgEndpoint).port ?? 0,
    mysqlPort: cp.app.get(MysqlEndpoint).port ?? 0,
    sshPort: cp.app.get(SshEndpoint).port ?? 0,
    k8s: { server: cp.app.get(K8sEndpoint).endpointInfo().server ?? '', certificateAuthority: cp.app.get(K8sEndpoint).endpointInfo().certificateAuthority ?? '' },
    agents,
    async addAgent(name, resources) {
      const reg = await cp.request('POST', '/api/v1/agents', { token: admin, body: { name } });
      if (reg.status !== 201) throw new Error(`register ${name}: ${JSON.stringify(reg.body)}`);
      const spoolDir = opts.spoolDir ?? `.data/e2e-spool-${name}-${Date.now()}`;
      if (!opts.spoolDir) ownSpools.push(spoolDir);
      const agent = await startAgent(
        validateAgentConfig({
          controlPlane: { url: cp.baseUrl, ...(opts.agentControlPlane ?? {}) },
          auth: { credential: `literal:${reg.body.credential}` },
          resources: resources.map((r) => ({ name: r.name, type: r.type, ...(r.address ? { address: r.address } : {}), labels: r.labels ?? {}, ...(r.extra ?? {}) })),
          spoolDir,
          logLevel: 'silent',
        }),
        { logger: pino({ level: 'silent' }) },
      );
      await agent.waitConnected(10_000);
      agents.push(agent);
      for (const r of resources) await stack.waitOnline(r.name);
      return agent;
    },
    async activatePolicy(text) {
      const res = await cp.request('POST', '/api/v1/policies', { token: admin, body: { text, activate: true } });
      if (res.status !== 201) throw new Error(`policy: ${JSON.stringify(res.body)}`);
    },
    async waitOnline(resource, online = true) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const res = await cp.request('GET', '/api/v1/resources', { token: admin });
        const found = (res.body.items as { name: string; online: boolean }[]).find((r) => r.name === resource);
        if ((found?.online ?? false) === online) return;
        if (Date.now() > deadline) throw new Error(`resource ${resource} did not become ${online ? 'online' : 'offline'}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      for (const a of agents) await a.close().catch(() => undefined);
      await cp.close();
      for (const dir of ownSpools) await rm(dir, { recursive: true, force: true });
    },
  };
  if (opts.policy) await stack.activatePolicy(opts.policy);
  if (opts.resources?.length) await stack.addAgent('edge-e2e', opts.resources);
  return stack;
}
