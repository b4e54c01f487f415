import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guardedLookup, isForbiddenWebhookAddress } from './webhook-destination.js';
import { sendWebhook } from './webhook-sender.js';
import { webhookUrlProblem } from './webhook-url.js';

describe('webhook destinations', () => {
  it('refuse link-local addresses in every spelling; private and loopback stay allowed', () => {
    for (const bad of ['169.254.169.254', '169.254.0.1', '[fe80::1]', 'fe80::1%eth0', 'fd00:ec2::254', '::ffff:169.254.169.254', '[::FFFF:169.254.169.254]']) {
      expect(isForbiddenWebhookAddress(bad), bad).toBe(true);
    }
    for (const ok of ['10.0.0.5', '127.0.0.1', '::1', '192.168.1.1', 'fd00::1', 'hooks.slack.com', '::ffff:10.0.0.5']) expect(isForbiddenWebhookAddress(ok), ok).toBe(false);
    expect(webhookUrlProblem('http://169.254.169.254/latest/meta-data/')).toMatch(/link-local/);
    expect(webhookUrlProblem('http://[::ffff:169.254.169.254]/')).toMatch(/link-local/);
    expect(webhookUrlProblem('http://[fe80::1]:8080/')).toMatch(/link-local/);
  });

  it('refuse a host name that resolves to a link-local address when the connection is made (any of its addresses)', async () => {
    const resolveTo = (...addresses: string[]) => guardedLookup((_host, _options, callback) => callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))));
    const outcome = (lookup: ReturnType<typeof guardedLookup>, all: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) => lookup('metadata.example', { all }, (err, address) => resolve({ err, address })));
    const refused = await outcome(resolveTo('10.0.0.7', '169.254.169.254'), true);
    expect(refused.err?.message).toMatch(/metadata\.example resolves to 169\.254\.169\.254: link-local addresses/);
    expect((await outcome(resolveTo('10.0.0.7'), false)).address).toBe('10.0.0.7');
    expect((await outcome(resolveTo('10.0.0.7', '::1'), true)).address).toEqual([{ address: '10.0.0.7', family: 4 }, { address: '::1', family: 6 }]);
  });

  it('a delivery to a link-local address is a failed attempt that never connects; a loopback receiver gets it', async () => {
    expect(await sendWebhook('http://169.254.169.254/latest/meta-data/', {}, '{}', 2000)).toEqual({ ok: false, error: expect.stringMatching(/link-local/) as unknown });
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      // By name: the guarded lookup resolves localhost and lets it through.
      const { port } = server.address() as AddressInfo;
      expect(await sendWebhook(`http://localhost:${port}/hook`, { 'content-type': 'application/json' }, '{}', 2000)).toEqual({ ok: true, statusCode: 204 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
