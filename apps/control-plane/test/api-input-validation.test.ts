import { request as httpRequest } from 'node:http';
import pg from 'pg';
import WebSocket from 'ws';
import { CONNECT_CLOSE } from '@gw/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

/**
 * Bad path and query parameters get a 400 that names the parameter (or a 404 for a well-formed
 * value that does not exist), never a 500. The routes come from the OpenAPI document, so a new
 * route with a path parameter is covered without touching this file.
 */

type ParamKind = 'uuid' | 'policyVersion' | 'resourceName';
/** Which kind each path parameter name is; a route with a parameter not listed here fails the test. */
const PARAM_KINDS: Record<string, ParamKind> = { id: 'uuid', version: 'policyVersion', resource: 'resourceName' };

const VALID_FORM: Record<ParamKind, string[]> = {
  uuid: ['00000000-0000-0000-0000-000000000000', '6f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6f', '6F1C2A4E-8B3D-4F5A-9C7E-1D2B3A4C5E6F'],
  policyVersion: ['2147483647', '424242'],
  resourceName: ['no-such-resource', '0', 'a.b_c-9'],
};

/** Raw path segments as a client sends them (already percent-encoded where needed). */
const COMMON_BAD = [
  '99999999999999999999', '-1', '0', 'abc', 'null', 'undefined', 'true', '1e3', '0x10', '1.5', '+1', '%20', '%201',
  'a'.repeat(4000), '9'.repeat(4000), encodeURIComponent('🦄'), encodeURIComponent('é'), encodeURIComponent('ß'.repeat(300)),
  '%00', '1%00', '%00%00%00', '%0A', '%0D%0A', '%09', '%7F', '%C0%80', '%E0%A4%A', '%ED%A0%80', '%FF', '%25', '%2F',
  encodeURIComponent("1' OR '1'='1"), encodeURIComponent('1;DROP TABLE agents'), encodeURIComponent('$(id)'), encodeURIComponent('{}'),
  encodeURIComponent('[1]'), '%2E%2E', encodeURIComponent('\u202e1'), encodeURIComponent('\uFEFF1'),
];
/** What agents may declare as a resource name (libs/contracts). */
const RESOURCE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Percent-encodings that are not UTF-8 (overlong, truncated, surrogate, 0xFF). */
const UNDECODABLE = ['%C0%80', '%E0%A4%A', '%ED%A0%80', '%FF'];
const BAD: Record<ParamKind, string[]> = {
  uuid: [
    ...COMMON_BAD,
    '6f1c2a4e8b3d4f5a9c7e1d2b3a4c5e6f', // no hyphens: Postgres would take it, the API does not
    '%7B6f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6f%7D',
    '6f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6', '6f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6f0', '6f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6g',
    '6f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6f%00', '%006f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6f', '%206f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6f',
    '6f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6f%20', encodeURIComponent('６f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5e6f'),
  ],
  // Those of the common ones that are not resource names (`abc`, `0`, `1.5` are), and more.
  resourceName: [
    ...COMMON_BAD.filter((b) => UNDECODABLE.includes(b) || !RESOURCE_NAME.test(decodeURIComponent(b))),
    'Upper', 'x'.repeat(64), '.hidden', '_x', encodeURIComponent('a b'), encodeURIComponent('a/b'),
  ],
  policyVersion: [...COMMON_BAD, '2147483648', '4294967296', '9223372036854775808', '-2147483649', '1.0', '01x', '1%00', encodeURIComponent('١')],
};

interface Route { method: string; template: string; params: string[] }
interface RawResponse { status: number; text: string; body: any; contentType: string }

/** Sends the path exactly as given (fetch would normalise dot segments and re-encode). */
function rawRequest(baseUrl: string, method: string, path: string, token: string, body?: string): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: url.hostname, port: url.port, method, path,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON: the assertions below say so */
        }
        resolve({ status: res.statusCode ?? 0, text, body: parsed, contentType: String(res.headers['content-type'] ?? '') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A JSON error body without a stack trace, file paths or driver internals. */
function expectCleanError(res: RawResponse, what: string): void {
  expect(res.contentType, `${what}: JSON error body, got ${res.text.slice(0, 200)}`).toMatch(/application\/json/);
  expect(typeof res.body.message, what).toBe('string');
  expect(res.text, what).not.toMatch(/\bat [\w.<>]+ \(|node_modules|\/src\/|\.ts:\d+|\.js:\d+|QueryFailedError|stack/i);
}

describe('API input validation: every path and query parameter', () => {
  let h: Harness;
  let admin: string;
  let routes: Route[];
  beforeAll(async () => {
    h = await startHarness();
    admin = await h.token('security-admin');
    const doc = (await h.request('GET', '/api/docs-json')).body as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(doc.paths).flatMap(([template, ops]) =>
      Object.keys(ops).map((method) => ({ method: method.toUpperCase(), template, params: [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!) })),
    ).filter((r) => r.params.length > 0);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('knows the kind of every path parameter of every documented route', () => {
    expect(routes.length).toBeGreaterThanOrEqual(17);
    for (const route of routes) for (const p of route.params) expect(PARAM_KINDS[p], `${route.method} ${route.template}: parameter "${p}"`).toBeDefined();
  });

  it('answers 400 naming the parameter for every malformed value, on every route', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      for (const param of route.params) {
        for (const bad of BAD[PARAM_KINDS[param]!]) {
          const path = route.template.replace(/\{([^}]+)\}/g, (_m, name: string) => (name === param ? bad : VALID_FORM[PARAM_KINDS[name]!][0]!));
          const res = await rawRequest(h.baseUrl, route.method, path, admin, route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}');
          const label = `${route.method} ${route.template} ${param}=${bad.slice(0, 40)}`;
          // Express cannot decode these before any route runs, so the answer names the path, not the parameter.
          const expected = UNDECODABLE.includes(bad) ? 'the request path is not valid percent-encoded UTF-8' : `invalid path parameter "${param}"`;
          if (res.status !== 400 || res.body?.error !== 'validation_failed' || !String(res.body?.message).includes(expected)) {
            failures.push(`${label}: ${res.status} ${res.text.slice(0, 160)}`);
            continue;
          }
          if (!UNDECODABLE.includes(bad)) expect(res.body.fields, label).toEqual([{ path: param, message: expect.any(String) }]);
          expectCleanError(res, label);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers 404 (not 400, not 500) for well-formed values that do not exist', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      for (const param of route.params) {
        for (const value of VALID_FORM[PARAM_KINDS[param]!]) {
          const path = route.template.replace(/\{([^}]+)\}/g, (_m, name: string) => (name === param ? value : VALID_FORM[PARAM_KINDS[name]!][0]!));
          const res = await rawRequest(h.baseUrl, route.method, path, admin, route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}');
          if (res.status !== 404) failures.push(`${route.method} ${path}: ${res.status} ${res.text.slice(0, 160)}`);
          else expectCleanError(res, path);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  /** Query parameters: route, parameter, malformed values (each must give 400 naming it). */
  const QUERY_CASES: { path: string; param: string; bad: string[] }[] = [
    { path: '/api/v1/audit/events', param: 'before', bad: ['9223372036854775808', '99999999999999999999', '-1', 'abc', '1e3', '%00', '9'.repeat(4000)] },
    { path: '/api/v1/audit/events', param: 'limit', bad: ['0', '501', '-1', '99999999999999999999', 'abc', '1.5', '1e2', '0x10', '%00', '%20'] },
    { path: '/api/v1/audit/events', param: 'from', bad: ['0000-01-01T00:00:00Z', '2026-02-31T00:00:00Z', 'yesterday', '%00', '2026-01-01'] },
    { path: '/api/v1/audit/events', param: 'to', bad: ['0000-12-31T23:59:59Z', '99999-01-01T00:00:00Z'] },
    { path: '/api/v1/audit/events', param: 'principal', bad: ['%00', 'a%00b', 'x'.repeat(513)] },
    { path: '/api/v1/audit/events', param: 'resource', bad: ['%00', 'x'.repeat(257)] },
    { path: '/api/v1/audit/events', param: 'action', bad: ['%00'] },
    { path: '/api/v1/sessions', param: 'principal', bad: ['%00', 'x'.repeat(513)] },
    { path: '/api/v1/sessions', param: 'resource', bad: ['%00'] },
    { path: '/api/v1/sessions', param: 'status', bad: ['%00', 'open', 'ACTIVE'] },
    { path: '/api/v1/sessions', param: 'from', bad: ['0000-01-01T00:00:00Z', '%00'] },
    { path: '/api/v1/sessions', param: 'limit', bad: ['99999999999999999999', '-5', '1e2'] },
    { path: '/api/v1/sessions/00000000-0000-0000-0000-000000000000/events', param: 'after', bad: ['99999999999999999999', '9223372036854775808', '-2', 'abc', '1e3', '%00'] },
    { path: '/api/v1/sessions/00000000-0000-0000-0000-000000000000/events', param: 'limit', bad: ['0', '1001', '99999999999999999999'] },
    { path: '/api/v1/sessions/00000000-0000-0000-0000-000000000000/recording.cast', param: 'channel', bad: ['0', '-1', '99999999999999999999', '4294967296', 'abc', '1e3', '%00'] },
    { path: '/api/v1/grants', param: 'principal', bad: ['%00', 'x'.repeat(513)] },
    { path: '/api/v1/grants', param: 'resource', bad: ['%00', 'x'.repeat(64)] },
    { path: '/api/v1/grants', param: 'active', bad: ['yes', '1', '%00'] },
    { path: '/api/v1/grants', param: 'limit', bad: ['99999999999999999999', '0'] },
    { path: '/api/v1/access-requests', param: 'status', bad: ['%00', 'granted'] },
    { path: '/api/v1/access-requests', param: 'limit', bad: ['99999999999999999999', '0', '1e2'] },
    { path: '/api/v1/approvals', param: 'status', bad: ['%00', 'open'] },
    { path: '/api/v1/approvals', param: 'kind', bad: ['%00', 'sql'] },
    { path: '/api/v1/approvals', param: 'limit', bad: ['99999999999999999999', '-1'] },
    { path: '/api/v1/webhooks', param: 'includeDeleted', bad: ['1', '%00'] },
    { path: '/api/v1/webhooks/deliveries', param: 'status', bad: ['%00', 'failed'] },
    { path: '/api/v1/webhooks/deliveries', param: 'before', bad: ['0000-01-01T00:00:00Z', 'now', '%00'] },
    { path: '/api/v1/webhooks/deliveries', param: 'limit', bad: ['99999999999999999999', '0'] },
    { path: '/api/v1/webhooks/00000000-0000-0000-0000-000000000000/deliveries', param: 'limit', bad: ['99999999999999999999'] },
  ];

  it('answers 400 naming the query parameter for every malformed value', async () => {
    const failures: string[] = [];
    for (const { path, param, bad } of QUERY_CASES) {
      for (const value of bad) {
        const res = await rawRequest(h.baseUrl, 'GET', `${path}?${param}=${value}`, admin);
        const label = `GET ${path}?${param}=${value.slice(0, 40)}`;
        const named = res.status === 400 && Array.isArray(res.body?.fields) && res.body.fields.some((f: { path: string }) => f.path === param);
        if (!named) failures.push(`${label}: ${res.status} ${res.text.slice(0, 160)}`);
        else expectCleanError(res, label);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses unknown and repeated query parameters with 400, never 500', async () => {
    for (const path of ['/api/v1/audit/events', '/api/v1/sessions', '/api/v1/grants', '/api/v1/approvals', '/api/v1/webhooks/deliveries']) {
      const unknown = await rawRequest(h.baseUrl, 'GET', `${path}?nope=1`, admin);
      expect(unknown.status, path).toBe(400);
      expect(JSON.stringify(unknown.body.fields), path).toMatch(/nope/);
      const repeated = await rawRequest(h.baseUrl, 'GET', `${path}?limit=1&limit=2`, admin);
      expect(repeated.status, path).toBe(400);
      const nested = await rawRequest(h.baseUrl, 'GET', `${path}?limit[a]=1`, admin);
      expect(nested.status, path).toBe(400);
    }
  });

  it('accepts the same parameters when they are well formed', async () => {
    const ok = [
      '/api/v1/audit/events?before=9223372036854775807&limit=500&from=2026-01-01T00:00:00Z&to=2026-12-31T23:59:59%2B02:00&principal=%C3%A9',
      '/api/v1/sessions?limit=1&status=active&resource=postgres-demo',
      '/api/v1/grants?active=true&limit=500',
      '/api/v1/approvals?status=pending&kind=statement',
      '/api/v1/webhooks/deliveries?status=dead&before=2026-01-01T00:00:00Z',
      '/api/v1/policies',
    ];
    for (const path of ok) expect((await rawRequest(h.baseUrl, 'GET', path, admin)).status, path).toBe(200);
    // Valid query, session unknown: the 404 shows the query passed validation.
    const events = await rawRequest(h.baseUrl, 'GET', '/api/v1/sessions/00000000-0000-0000-0000-000000000000/events?after=9007199254740991&limit=1000', admin);
    expect(events.status).toBe(404);
    expect(events.body.error).toBe('not_found');
  });

  it('answers malformed JSON bodies and malformed URLs with a clean 400', async () => {
    const badJson = await rawRequest(h.baseUrl, 'POST', '/api/v1/policies/validate', admin, '{"text": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body).toMatchObject({ error: 'validation_failed', message: expect.stringMatching(/^the request body is not valid JSON/) });
    expectCleanError(badJson, 'malformed JSON');
    const badUrl = await rawRequest(h.baseUrl, 'GET', '/api/v1/grants/%E0%A4%A', admin);
    expect(badUrl.body).toEqual({ error: 'validation_failed', message: 'the request path is not valid percent-encoded UTF-8' });
    expectCleanError(badUrl, 'malformed percent-encoding');
  });

  it('refuses NUL characters in body text fields with 400 (Postgres text cannot hold them)', async () => {
    const cases: { path: string; body: unknown; field: string }[] = [
      { path: '/api/v1/webhooks', body: { url: 'https://example.com/hook', events: ['grant.created'], description: 'a\u0000b' }, field: 'description' },
      { path: '/api/v1/agents', body: { name: 'agent\u0000x' }, field: 'name' },
      { path: '/api/v1/policies', body: { text: '@id("a") permit (principal, action, resource);', description: '\u0000' }, field: 'description' },
    ];
    for (const c of cases) {
      const res = await rawRequest(h.baseUrl, 'POST', c.path, admin, JSON.stringify(c.body));
      expect(res.status, c.path).toBe(400);
      expect(res.body.fields, c.path).toContainEqual({ path: c.field, message: expect.stringMatching(/NUL/) });
    }
  });

  it('refuses bodies nested deeper than the schemas go with 400, for any caller, never a 500', async () => {
    const requester = await h.token('ai-agent');
    const cases: { path: string; token: string; body: string }[] = [
      { path: '/api/v1/access-requests', token: requester, body: '['.repeat(200_000) + ']'.repeat(200_000) },
      { path: '/api/v1/access-requests', token: requester, body: '{"a":'.repeat(150_000) + '1' + '}'.repeat(150_000) },
      { path: '/api/v1/policies/dry-run', token: admin, body: `{"principal":{"id":"x"},"action":"connect","resource":{"name":"r","type":"postgres"},"context":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}` },
    ];
    for (const c of cases) {
      const res = await rawRequest(h.baseUrl, 'POST', c.path, c.token, c.body);
      expect(res.status, c.path).toBe(400);
      expect(res.body.fields, c.path).toEqual([{ path: expect.any(String), message: 'nested deeper than 64 levels of arrays and objects' }]);
      expectCleanError(res, `deep body to ${c.path}`);
    }
  });

  it('gw connect: a resource name no agent could declare is an unknown resource (4404), not an internal error', async () => {
    const wsBase = h.baseUrl.replace(/^http/, 'ws');
    for (const name of ['%00', 'db%00x', 'a'.repeat(4000), encodeURIComponent('🦄'), 'UPPER', '..%2F..', '%ED%A0%80', '']) {
      const ws = new WebSocket(`${wsBase}/api/v1/connect?resource=${name}`, { headers: { authorization: `Bearer ${admin}` } });
      const [code] = await new Promise<[number, string]>((resolve, reject) => {
        ws.once('close', (c: number, reason: Buffer) => resolve([c, reason.toString()]));
        ws.once('error', reject);
      });
      expect(code, `resource=${name.slice(0, 40)}`).toBe(CONNECT_CLOSE.unknownResource);
    }
  });

  it('an unexpected failure answers 500 with an error id and nothing of the cause', async () => {
    const db = new pg.Client({ connectionString: h.dbUrl });
    await db.connect();
    try {
      await db.query('ALTER TABLE policy_versions RENAME TO policy_versions_away');
      const res = await rawRequest(h.baseUrl, 'GET', '/api/v1/policies', admin);
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: 'internal', message: 'internal error', errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expectCleanError(res, '500');
      expect(res.text).not.toMatch(/policy_versions|relation|does not exist/);
    } finally {
      await db.query('ALTER TABLE policy_versions_away RENAME TO policy_versions');
      await db.end();
    }
  });
});
