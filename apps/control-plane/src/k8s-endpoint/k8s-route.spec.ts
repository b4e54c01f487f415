import { describe, expect, it } from 'vitest';
import { forwardedRequestHeaders, identityClaimRefusal } from './k8s-client-connection.js';
import { parseK8sRoute } from './k8s-route.js';

describe('Kubernetes endpoint routing', () => {
  it.each([
    ['/k8s/prod-cluster/api/v1/pods?limit=500', { resource: 'prod-cluster', path: '/api/v1/pods?limit=500' }],
    ['/k8s/k8s-demo', { resource: 'k8s-demo', path: '/' }],
    ['/k8s/k8s-demo?timeout=32s', { resource: 'k8s-demo', path: '/?timeout=32s' }],
    ['/k8s/a.b_c-1/version', { resource: 'a.b_c-1', path: '/version' }],
  ])('%s', (url, expected) => {
    expect(parseK8sRoute(url)).toEqual(expected);
  });

  it.each(['/api/v1/pods', '/k8s/', '/k8s/UPPER/api', '/k8s/../api', '/k8s/%2e%2e/api', '/k8sx/a/api'])('refuses %s', (url) => {
    expect(parseK8sRoute(url)).toBeUndefined();
  });

  it('never forwards the client token, cookies, impersonation or front-proxy identity headers', () => {
    const out = forwardedRequestHeaders({ authorization: 'Bearer t', cookie: 'c', 'impersonate-user': 'admin', 'impersonate-group': 'system:masters', 'x-remote-user': 'admin', 'x-remote-group': 'system:masters', accept: 'application/json', connection: 'keep-alive' }, false);
    expect(out).toEqual({ accept: 'application/json' });
  });

  it('refuses a request that claims another identity (kubectl --as) rather than running it as the session', () => {
    expect(identityClaimRefusal({ accept: 'application/json', authorization: 'Bearer t' })).toBeUndefined();
    expect(identityClaimRefusal({ 'impersonate-user': 'system:admin' })).toMatch(/^impersonation is not available through the gateway \(the request carries impersonate-user; kubectl --as/);
    expect(identityClaimRefusal({ 'x-remote-group': 'system:masters' })).toContain('x-remote-group');
    // A proxy in front of the API server may read `_` as `-`.
    expect(identityClaimRefusal({ impersonate_user: 'system:admin' })).toContain('impersonate_user');
    expect(forwardedRequestHeaders({ impersonate_group: 'system:masters', x_remote_user: 'admin', accept: 'application/json' }, false)).toEqual({ accept: 'application/json' });
  });
});
