import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainEvents } from '../apps/control-plane/src/events/domain-events.service.js';
import { startHarness, type Harness } from '../apps/control-plane/test/support/harness.js';
import { sleep, waitFor, WebhookReceiver } from '../apps/control-plane/test/support/webhook-receiver.js';
import { deliveries, subscribe } from '../apps/control-plane/test/support/webhooks.js';
import { freePort, spawnReplica, type ControlPlaneProcess } from './support/control-plane-process.js';

const refused = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect({ host: '127.0.0.1', port });
  socket.once('connect', () => { socket.destroy(); resolve(false); });
  socket.once('error', () => resolve(true));
});

describe('control plane roles: api replicas and a worker from one build', () => {
  let api: Harness;
  let worker: ControlPlaneProcess | undefined;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    api = await startHarness({ CONTROL_PLANE_ROLE: 'api', WEBHOOK_SWEEP_INTERVAL_MS: '3600000' });
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await worker?.kill('SIGTERM');
    await receiver?.stop();
    await api?.close();
  });

  it('the api replica serves the API but delivers no webhook; the worker listens on nothing and delivers it', async () => {
    const { id } = await subscribe(api, { url: receiver.url, events: ['grant.created'] });
    await api.app.get(DomainEvents).publish('grant.created', { grant: { id: 'g-roles', principalId: 'p', resource: 'postgres-demo', role: 'reader' } });
    await sleep(1500);
    expect(receiver.calls).toHaveLength(0); // queued, and nobody runs the queue
    expect((await deliveries(api, id)).map((d: { status: string }) => d.status)).toEqual(['pending']);

    const ports = { HTTP_PORT: String(await freePort()), PG_PORT: String(await freePort()), SSH_PORT: String(await freePort()), MYSQL_PORT: String(await freePort()), K8S_PORT: String(await freePort()) };
    worker = await spawnReplica(api, { CONTROL_PLANE_ROLE: 'worker', ...ports }, { waitHealthy: false });
    await waitFor(() => receiver.calls.length === 1, 'the delivery by the worker');
    await waitFor(async () => (await deliveries(api, id, 'delivered')).length === 1, 'delivered');
    for (const port of Object.values(ports)) expect(await refused(Number(port))).toBe(true);
    expect(worker.child.exitCode).toBeNull();
  });
});
