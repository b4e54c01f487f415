import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

describe('health, metrics and OpenAPI', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers liveness, readiness and metrics without a token', async () => {
    expect((await h.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await h.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ postgres: 'ok', redis: 'ok' });
    await h.request('GET', '/api/v1/whoami');
    const metrics = await h.request('GET', '/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    expect(metrics.body).toMatch(/gw_http_requests_total\{method="GET",route="\/api\/v1\/whoami",status="401"\}/);
  });

  it('serves the OpenAPI document and UI', async () => {
    const doc = await h.request('GET', '/api/docs-json');
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/whoami', '/api/v1/policies/dry-run', '/api/v1/audit/verify']));
    const ui = await h.request('GET', '/api/docs');
    expect(ui.status).toBe(200);
    expect(String(ui.body)).toContain('swagger');
  });

  it('readiness reports a dead Redis as not ready', async () => {
    const broken = await import('./support/harness.js').then((m) => m.startHarness({ REDIS_URL: 'redis://127.0.0.1:1' }));
    try {
      const ready = await broken.request('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.postgres).toBe('ok');
      expect(ready.body.checks.redis).toMatch(/^error/);
    } finally {
      await broken.close();
    }
  });
});
