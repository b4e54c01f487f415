import { execFile } from 'node:child_process';
import { mkdtempSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { execFileSync } from 'node:child_process';
import { startTestApiServer, type TestApiServer } from '../../tools/test-kube-apiserver/server.mjs';
import type { StackResource } from './stack.js';

const run = promisify(execFile);

/** The folder of the kubectl on the PATH holds kubectl.1.27 ... kubectl.1.33 (Google Cloud SDK). */
export function kubectlBinary(version: string): string {
  const onPath = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
  const real = realpathSync(onPath);
  void readlinkSync;
  return join(dirname(real), `kubectl.${version}`);
}

export interface KubeCluster {
  api: TestApiServer;
  /** Agent resource entry serving the double, in token-request or impersonate mode. */
  resource(name: string, mode: 'token-request' | 'impersonate', labels?: Record<string, string>): StackResource;
  close(): Promise<void>;
}

export async function startKubeCluster(): Promise<KubeCluster> {
  const api = await startTestApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'gw-kube-'));
  const tokenFile = join(dir, 'agent-token');
  writeFileSync(tokenFile, `${api.agentToken}\n`, { mode: 0o600 });
  return {
    api,
    resource: (name, mode, labels = {}) => ({
      name,
      type: 'kubernetes',
      address: `127.0.0.1:${api.port}`,
      labels,
      extra: { kubernetes: { caFile: api.caFile, credential: { tokenFile }, mode } },
    }),
    async close() {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Kubectl {
  (args: string[], opts?: { token?: string; version?: string; input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  kubeconfigFor(token: string): string;
}

/** kubectl against the gateway's endpoint, with a kubeconfig whose user sends `token`. */
export function kubectlFor(server: string, caPem: string, resource: string, defaultToken: string): Kubectl {
  const dir = mkdtempSync(join(tmpdir(), 'gw-kubectl-'));
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, caPem);
  let n = 0;
  const kubeconfigFor = (token: string) => {
    const file = join(dir, `config-${(n += 1)}`);
    writeFileSync(file, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'gw',
      clusters: [{ name: 'gw', cluster: { server: `${server}/k8s/${resource}`, 'certificate-authority': caFile } }],
      users: [{ name: 'gw', user: { token } }],
      contexts: [{ name: 'gw', context: { cluster: 'gw', user: 'gw', namespace: 'default' } }],
    }));
    return file;
  };
  const fn = (async (args, opts = {}) => {
    const config = kubeconfigFor(opts.token ?? defaultToken);
    const child = run(kubectlBinary(opts.version ?? '1.33'), ['--kubeconfig', config, '--cache-dir', join(dir, `cache-${n}`), ...args], { timeout: 60_000, env: { ...process.env, HOME: dir } });
    if (opts.input !== undefined) {
      child.child.stdin?.end(opts.input);
    }
    try {
      const { stdout, stderr } = await child;
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }) as Kubectl;
  fn.kubeconfigFor = kubeconfigFor;
  return fn;
}
