import { describe, expect, it } from 'vitest';
import { identityClaimRefusal, upstreamHeaders } from './kubernetes-handler.js';
import { objectPath } from './object-existence.js';
import { requestAttributes } from './request-attributes.js';

const auth = { ca: '', headers: { authorization: 'Bearer sa-token' }, describe: {} };

describe('headers the agent sends to the API server', () => {
  it('replaces the client credential, drops impersonation, compression and protobuf', () => {
    const out = upstreamHeaders({
      authorization: 'Bearer client-oidc-token',
      'impersonate-user': 'system:admin',
      'impersonate-group': 'system:masters',
      'impersonate-extra-scopes': 'x',
      'impersonate-uid': '1',
      'x-remote-user': 'system:admin',
      'x-remote-group': 'system:masters',
      'x-remote-extra-scopes': 'x',
      cookie: 'a=b',
      'accept-encoding': 'gzip',
      accept: 'application/vnd.kubernetes.protobuf, application/json',
      'content-type': 'application/json',
      'user-agent': 'kubectl/v1.33',
      host: 'gateway:16443',
    }, auth, false);
    expect(out).toEqual({ authorization: 'Bearer sa-token', accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'kubectl/v1.33' });
  });

  it('asks JSON when the client asked protobuf only, and keeps Table and discovery media types', () => {
    expect(upstreamHeaders({ accept: 'application/vnd.kubernetes.protobuf' }, auth, false).accept).toBe('application/json');
    const table = 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json';
    expect(upstreamHeaders({ accept: table }, auth, false).accept).toBe(table);
  });

  it('refuses a request that claims another identity instead of dropping the claim', () => {
    expect(identityClaimRefusal({ accept: 'application/json' })).toBeUndefined();
    const refusal = identityClaimRefusal({ 'impersonate-user': 'viewer', 'impersonate-group': 'g', accept: 'application/json' });
    expect(refusal).toContain('impersonation is not available through the gateway (the request carries impersonate-group, impersonate-user;');
    expect(identityClaimRefusal({ 'x-remote-user': 'admin' })).toContain('x-remote-user');
    // A proxy in front of the API server may read `_` as `-`: refused too, and never sent on.
    expect(identityClaimRefusal({ impersonate_user: 'admin' })).toContain('impersonate_user');
    expect(identityClaimRefusal({ x_remote_group: 'system:masters' })).toContain('x_remote_group');
    expect(upstreamHeaders({ impersonate_user: 'admin', 'x_remote-user': 'admin' }, auth, false)).toEqual({ authorization: 'Bearer sa-token' });
  });

  it('checks whether an object exists at its own path, without the subresource', () => {
    const path = (method: string, url: string) => objectPath(requestAttributes(method, url));
    expect(path('PUT', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/x')).toBe('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/x');
    expect(path('PUT', '/apis/apps/v1/namespaces/prod/deployments/web/scale')).toBe('/apis/apps/v1/namespaces/prod/deployments/web');
    expect(path('PUT', '/api/v1/namespaces/default/services/web/status')).toBe('/api/v1/namespaces/default/services/web');
    expect(path('PUT', '/apis/rbac.authorization.k8s.io/v1/clusterroles/view')).toBe('/apis/rbac.authorization.k8s.io/v1/clusterroles/view');
    expect(path('PUT', '/api/v1/namespaces/prod/finalize')).toBe('/api/v1/namespaces/prod');
    expect(path('PUT', '/api/v1/namespaces/prod')).toBe('/api/v1/namespaces/prod');
  });
});
