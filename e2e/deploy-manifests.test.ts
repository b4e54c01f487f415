import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { AGENT_NODE_FLAGS, CONTROL_PLANE_NODE_FLAGS } from '../tools/node-flags.mjs';

const run = promisify(execFile);

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any;
  data?: Record<string, string>;
}

async function render(overlay: string): Promise<Manifest[]> {
  const { stdout } = await run('kubectl', ['kustomize', `deploy/kubernetes/overlays/${overlay}`]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as Manifest);
}

const find = (all: Manifest[], kind: string, name: string): Manifest => {
  const found = all.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found;
};
const envOf = (deployment: Manifest): Record<string, string | undefined> =>
  Object.fromEntries((deployment.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));

describe('deploy/kubernetes, rendered with kubectl kustomize', () => {
  it('production: API replicas with probes, a PDB, workers, the Service, configuration and secrets, an agent with a persistent spool', async () => {
    const all = await render('production');
    expect(new Set(all.map((m) => m.metadata.namespace))).toEqual(new Set(['gateway']));

    const api = find(all, 'Deployment', 'gateway-control-plane');
    expect(api.spec.replicas).toBeGreaterThanOrEqual(2);
    const container = api.spec.template.spec.containers[0];
    expect(container.image).toBe('registry.example.com/gateway/control-plane:0.1.0');
    expect(envOf(api)).toMatchObject({ CONTROL_PLANE_ROLE: 'api', REPLICA_AGENT_URL: 'http://$(POD_IP):8080', REPLICA_NAME: '$(POD_NAME)' });
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.envFrom).toEqual([{ configMapRef: { name: 'gateway-control-plane' } }, { secretRef: { name: 'gateway-control-plane' } }]);
    expect(container.resources.requests).toEqual({ cpu: '1', memory: '1Gi' });
    expect(api.spec.template.spec.securityContext.runAsNonRoot).toBe(true);

    const pdb = find(all, 'PodDisruptionBudget', 'gateway-control-plane');
    expect(pdb.spec.selector.matchLabels).toEqual(api.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);

    const worker = find(all, 'Deployment', 'gateway-worker');
    expect(envOf(worker)).toMatchObject({ CONTROL_PLANE_ROLE: 'worker', MIGRATIONS_RUN: 'false' });
    expect(worker.spec.template.spec.containers[0].image).toBe(container.image);

    const service = find(all, 'Service', 'gateway');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.selector).toEqual(api.spec.selector.matchLabels);
    expect(find(all, 'ConfigMap', 'gateway-control-plane').data).toMatchObject({ REPLICA_STALE_AFTER_MS: '30000' });

    const agent = find(all, 'Deployment', 'gateway-agent');
    const spool = (agent.spec.template.spec.volumes as { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: unknown }[]).find((v) => v.name === 'spool');
    expect(spool).toEqual({ name: 'spool', persistentVolumeClaim: { claimName: 'gateway-agent-spool' } });
    find(all, 'PersistentVolumeClaim', 'gateway-agent-spool');
    const agentYaml = find(all, 'ConfigMap', 'gateway-agent').data!['agent.yaml']!;
    expect(agentYaml).toContain('url: http://gateway:8080');
  });

  it('dev: one replica of each, in its own namespace', async () => {
    const all = await render('dev');
    expect(find(all, 'Deployment', 'gateway-control-plane').spec.replicas).toBe(1);
    expect(find(all, 'Deployment', 'gateway-worker').spec.replicas).toBe(1);
    expect(new Set(all.map((m) => m.metadata.namespace))).toEqual(new Set(['gateway-dev']));
  });
});

/**
 * Every listener the control plane has (each `<NAME>_PORT` of its configuration, with its default), read
 * from the configuration itself so that an endpoint added later is checked too.
 */
const controlPlaneListeners = (): { name: string; port: number }[] =>
  [...readFileSync('apps/control-plane/src/config/app-config.ts', 'utf8').matchAll(/^\s+([A-Z0-9]+)_PORT: z\.coerce\.number\(\)[^\n]*\.default\((\d+)\)/gm)]
    .map(([, name, port]) => ({ name: name!, port: Number(port) }));

describe('every control plane listener is published wherever the control plane runs', () => {
  const listeners = controlPlaneListeners();
  it('the configuration names the listeners (HTTP, Postgres, MySQL, SSH, Kubernetes at least)', () => {
    expect(listeners.map((l) => l.name)).toEqual(expect.arrayContaining(['HTTP', 'PG', 'MYSQL', 'SSH', 'K8S']));
  });
  it('the image listens on every interface for each and exposes each port', () => {
    const text = readFileSync('deploy/docker/control-plane.Dockerfile', 'utf8');
    const exposed = /^EXPOSE (.+)$/m.exec(text)?.[1]?.split(/\s+/).map(Number) ?? [];
    for (const l of listeners) {
      expect(text, `${l.name}_HOST`).toMatch(new RegExp(`\\b${l.name}_HOST=0\\.0\\.0\\.0\\b`));
      expect(exposed, `${l.name} port`).toContain(l.port);
    }
  });
  it('the Kubernetes Deployment and Service carry each port', async () => {
    const all = await render('production');
    const containerPorts = (find(all, 'Deployment', 'gateway-control-plane').spec.template.spec.containers[0].ports as { containerPort: number }[]).map((p) => p.containerPort);
    const servicePorts = (find(all, 'Service', 'gateway').spec.ports as { port: number }[]).map((p) => p.port);
    for (const l of listeners) {
      expect(containerPorts, `${l.name} container port`).toContain(l.port);
      expect(servicePorts, `${l.name} service port`).toContain(l.port);
    }
  });
  it('the compose load balancer binds each port and compose publishes it', () => {
    const haproxy = readFileSync('deploy/docker/haproxy.cfg', 'utf8');
    const compose = readFileSync('docker-compose.yml', 'utf8');
    for (const l of listeners) {
      expect(haproxy, `${l.name} frontend`).toMatch(new RegExp(`^\\s+bind :${l.port}$`, 'm'));
      expect(haproxy, `${l.name} backend`).toMatch(new RegExp(`server cp2 control-plane-2:${l.port} check`));
      expect(compose, `${l.name} published`).toContain(`"${l.port}:${l.port}"`);
    }
  });
});

describe('docker-compose load balancer', () => {
  it('HAProxy accepts its configuration (the replicas resolve only on the compose network)', async () => {
    const haproxy = ['/usr/sbin/haproxy', 'haproxy'].find((p) => p === 'haproxy' || existsSync(p))!;
    const { stdout, stderr } = await run(haproxy, ['-c', '-f', 'deploy/docker/haproxy.cfg']);
    expect(`${stdout}${stderr}`).toContain('Configuration file is valid');
    const compose = readFileSync('docker-compose.yml', 'utf8');
    for (const service of ['control-plane-1', 'control-plane-2', 'worker', 'gateway', 'agent']) expect(compose).toContain(`\n  ${service}:\n`);
  });
});

// The images are built and started by deploy/docker/check-images.mjs (buildah and podman, about 5 minutes:
// outside the suite); these checks read the Dockerfiles.
describe('container images: the Dockerfiles\' structure', () => {
  for (const app of ['control-plane', 'agent', 'dev-idp']) {
    it(`${app}: multi-stage, production dependencies only, non-root, runs the built entry point`, () => {
      const text = readFileSync(`deploy/docker/${app}.Dockerfile`, 'utf8');
      expect(text.match(/^FROM /gm)?.length).toBe(2);
      // Only this app's production dependencies go into the image, not the whole workspace's.
      expect(text).toContain(`npm ci --omit=dev --workspace @gw/${app}`);
      expect(text).toMatch(/^USER node$/m);
      const cmd = /^CMD \["node", "([^"]+)"/m.exec(text)?.[1];
      expect(cmd).toBe(`apps/${app}/dist/main.js`);
      expect(existsSync(cmd!)).toBe(true); // the path the image runs is what the build produces
    });
  }

  for (const [app, flags] of [['control-plane', CONTROL_PLANE_NODE_FLAGS], ['agent', AGENT_NODE_FLAGS]] as const) {
    it(`${app}: the image runs Node with the flags npm start and the benches use (tools/node-flags.mjs)`, () => {
      const text = readFileSync(`deploy/docker/${app}.Dockerfile`, 'utf8');
      expect(flags.length).toBeGreaterThan(0);
      expect(/^ENV NODE_OPTIONS=(.+)$/m.exec(text)?.[1]).toBe(flags.join(' '));
    });
  }
});
