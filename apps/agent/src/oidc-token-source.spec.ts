import { describe, expect, it } from 'vitest';
import { SecretValue } from './config/secret.js';
import { OidcTokenSource } from './oidc-token-source.js';

function fakeIdp(answers: { status?: number; body: unknown }[]) {
  const requests: { url: string; init: RequestInit }[] = [];
  const fetchImpl = ((url: string, init: RequestInit) => {
    requests.push({ url, init });
    const answer = answers[Math.min(requests.length - 1, answers.length - 1)]!;
    return Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status ?? 200 }));
  }) as unknown as typeof fetch;
  return { requests, fetchImpl };
}

describe('agent OIDC token source', () => {
  it('sends client credentials with basic auth and the resource, then caches until shortly before expiry', async () => {
    let now = 1_000_000;
    const idp = fakeIdp([{ body: { access_token: 't1', expires_in: 300 } }, { body: { access_token: 't2', expires_in: 300 } }]);
    const source = new OidcTokenSource({
      tokenUrl: 'http://idp/token',
      clientId: 'edge',
      clientSecret: new SecretValue('s3cret', 'literal'),
      resource: 'api://gateway',
      fetch: idp.fetchImpl,
      now: () => now,
    });
    const [a, b] = await Promise.all([source.get(), source.get()]);
    expect([a, b]).toEqual(['t1', 't1']);
    expect(idp.requests).toHaveLength(1);
    const init = idp.requests[0]!.init;
    expect((init.headers as Record<string, string>).authorization).toBe(`Basic ${Buffer.from('edge:s3cret').toString('base64')}`);
    expect((init.body as URLSearchParams).toString()).toBe('grant_type=client_credentials&resource=api%3A%2F%2Fgateway');

    now += 230_000; // 70 s before expiry: still cached
    expect(await source.get()).toBe('t1');
    now += 15_000; // 55 s before expiry: refreshed
    expect(await source.get()).toBe('t2');
    expect(idp.requests).toHaveLength(2);
  });

  it("reports the IdP's refusal without the secret", async () => {
    const idp = fakeIdp([{ status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } }]);
    const source = new OidcTokenSource({
      tokenUrl: 'http://idp/token',
      clientId: 'edge',
      clientSecret: new SecretValue('s3cret', 'literal'),
      resource: 'api://gateway',
      fetch: idp.fetchImpl,
    });
    const error = await source.get().catch((e: unknown) => e as Error);
    expect((error as Error).message).toBe('token endpoint answered 401: client authentication failed');
    expect((error as Error).message).not.toContain('s3cret');
  });
});
