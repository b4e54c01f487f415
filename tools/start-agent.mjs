// Part of `npm start`: registers the demo agent once (its credential is kept in .data/agent, mode
// 0600) and starts it with examples/agent.yaml, serving the demo Redis, Postgres and SSH target.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { AGENT_NODE_FLAGS } from './node-flags.mjs';

const CREDENTIAL_FILE = '.data/agent/credential';

export async function startDemoAgent({ api, admin, start }) {
  let credential = existsSync(CREDENTIAL_FILE) ? readFileSync(CREDENTIAL_FILE, 'utf8').trim() : '';
  if (credential) {
    // The database may have been reset since: check the credential is still known.
    const agents = await api('GET', '/api/v1/agents', admin);
    const id = credential.split('_')[1];
    const known = agents.body?.items?.some((a) => a.id.replace(/-/g, '') === id && a.status !== 'revoked');
    if (!known) credential = '';
  }
  if (!credential) {
    const name = `demo-agent-${Date.now().toString(36)}`;
    const reg = await api('POST', '/api/v1/agents', admin, { name, description: 'demo agent started by npm start' });
    if (reg.status !== 201) throw new Error(`could not register the demo agent: ${JSON.stringify(reg.body)}`);
    credential = reg.body.credential;
    mkdirSync('.data/agent', { recursive: true, mode: 0o700 });
    writeFileSync(CREDENTIAL_FILE, credential + '\n', { mode: 0o600 });
    chmodSync(CREDENTIAL_FILE, 0o600);
    console.log(`registered the demo agent as ${name}`);
  }
  // Restarted with backoff if it dies (kill -9 included); the control plane keeps serving meanwhile.
  start('agent', 'apps/agent/dist/main.js', { GW_AGENT_CREDENTIAL: credential }, ['--config', 'examples/agent.yaml'], { restart: true, nodeFlags: AGENT_NODE_FLAGS });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await api('GET', '/api/v1/resources', admin);
    const online = (res.body?.items ?? []).filter((r) => r.online).map((r) => r.name);
    if (online.includes('redis')) {
      console.log(`demo agent online, serving: ${online.join(', ')}`);
      return;
    }
    if (Date.now() > deadline) throw new Error('the demo agent did not come online within 30 s');
    await new Promise((r) => setTimeout(r, 300));
  }
}
