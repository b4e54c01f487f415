// The architecture's floor for the Postgres gateway: two bare Node processes with the gateway's shape
// (TLS at the front, one outbound WebSocket from the back, frames batched per event-loop turn, plain TCP
// to Postgres) and none of its work (no parsing, policy, masking or recording). What the gateway can
// reach at best with two Node processes on this machine; the bench prints it beside pgbouncer.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './stack.mjs';

const FLOOR = new URL('../pg/floor/', import.meta.url).pathname;

/** `transport`: 'ws' (a bare WebSocket, the least two processes need) or 'tunnel' (socket.io and @gw/tunnel, as the apps). */
export async function startPgFloor(transport = 'ws') {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-floor-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const port = await freePort();
  const wsPort = await freePort();
  const front = fork(join(FLOOR, transport === 'ws' ? 'front.mjs' : 'front-tunnel.mjs'), [String(port), String(wsPort), join(dir, 'cert.pem'), join(dir, 'key.pem')], { stdio: 'inherit' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const ready = new Promise((resolve) => front.once('message', resolve));
  const back = fork(join(FLOOR, transport === 'ws' ? 'back.mjs' : 'back-tunnel.mjs'), [transport === 'ws' ? `ws://127.0.0.1:${wsPort}` : `http://127.0.0.1:${wsPort}`, '5432'], { stdio: 'inherit' });
  await ready;
  return {
    port,
    frontPid: front.pid,
    backPid: back.pid,
    stop: async () => { front.kill('SIGTERM'); back.kill('SIGTERM'); },
  };
}
