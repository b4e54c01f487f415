// Part of `npm start`: the demo Kubernetes cluster `k8s-demo` is the TEST DOUBLE of an API server
// (tools/test-kube-apiserver): no real API server can be installed on the project's machines. It
// listens on DEMO_K8S_PORT (default 16444, loopback only) with a certificate made at each start in
// .data/demo-kube/ (apiserver.crt, which examples/agent.yaml names as the CA), and accepts the
// agent's token from .data/demo-kube/agent-token (made once, mode 0600).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startTestApiServer } from './test-kube-apiserver/server.mjs';

export const DEMO_K8S_DEFAULT_PORT = '16444';

const dir = resolve('.data/demo-kube');
mkdirSync(dir, { recursive: true, mode: 0o700 });
const tokenFile = `${dir}/agent-token`;
if (!existsSync(tokenFile)) writeFileSync(tokenFile, `demo-agent-${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
const agentToken = readFileSync(tokenFile, 'utf8').trim();
const port = Number(process.env.DEMO_K8S_PORT ?? DEMO_K8S_DEFAULT_PORT);
const api = await startTestApiServer({ port, agentToken, stateDir: dir, realExec: false });
console.log(`demo Kubernetes API server (test double) on ${api.url}`);
const stop = () => void api.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
