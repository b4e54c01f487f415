import { describe, expect, it } from 'vitest';
import { DEMO_POLICY, PolicyEngine } from '@gw/policy';
import { RequestAttributeError, requestAttributes } from './request-attributes.js';
import { actionFor, alsoDecidedAs, mayCreate, policyContextFor } from './request-policy.js';
import { readRequestBody } from './request-body.js';
import { execStreamsWanted } from './spdy-exec-client.js';

describe('Kubernetes request attributes (as the API server derives them)', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', { verb: 'list', apiGroup: '', apiVersion: 'v1', namespace: 'default', resource: 'pods' }, 'k8s:list'],
    ['GET', '/api/v1/namespaces/default/pods?watch=true', { verb: 'watch', resource: 'pods' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces/default/pods?watch=1&resourceVersion=5', { verb: 'watch' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces/default/pods?watch=false', { verb: 'list' }, 'k8s:list'],
    ['GET', '/api/v1/namespaces/default/pods?watch=yes', { verb: 'watch' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb-1&watch=1', { verb: 'watch', name: 'web-1' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces/default/pods/web-1', { verb: 'get', name: 'web-1', resource: 'pods' }, 'k8s:get'],
    ['HEAD', '/api/v1/namespaces/default/pods/web-1', { verb: 'get' }, 'k8s:get'],
    ['GET', '/api/v1/namespaces/default/pods/web-1/log?follow=true', { verb: 'get', subresource: 'log', name: 'web-1' }, 'k8s:get'],
    ['POST', '/api/v1/namespaces/default/pods', { verb: 'create', resource: 'pods' }, 'k8s:create'],
    ['PUT', '/api/v1/namespaces/default/configmaps/c', { verb: 'update', name: 'c' }, 'k8s:update'],
    ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web', { verb: 'patch', apiGroup: 'apps', resource: 'deployments', name: 'web' }, 'k8s:patch'],
    ['DELETE', '/api/v1/namespaces/prod/pods/api-1', { verb: 'delete', namespace: 'prod', name: 'api-1' }, 'k8s:delete'],
    ['DELETE', '/api/v1/namespaces/prod/pods', { verb: 'deletecollection' }, 'k8s:deletecollection'],
    ['GET', '/api/v1/namespaces/default/pods/web-1/exec?command=sh', { verb: 'get', subresource: 'exec' }, 'k8s:exec'],
    ['POST', '/api/v1/namespaces/default/pods/web-1/attach', { verb: 'create', subresource: 'attach' }, 'k8s:attach'],
    ['GET', '/api/v1/namespaces/default/pods/web-1/portforward', { subresource: 'portforward' }, 'k8s:portforward'],
    ['GET', '/api/v1/namespaces/default/services/web:80/proxy/metrics', { subresource: 'proxy', name: 'web:80' }, 'k8s:proxy'],
    ['GET', '/api/v1/proxy/namespaces/default/pods/web-1/x/y', { verb: 'proxy', name: 'web-1', resource: 'pods' }, 'k8s:proxy'],
    ['GET', '/api/v1/watch/namespaces/default/pods', { verb: 'watch', resource: 'pods' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces' }, 'k8s:list'],
    ['GET', '/api/v1/namespaces/prod', { verb: 'get', resource: 'namespaces', name: 'prod', namespace: 'prod' }, 'k8s:get'],
    ['PUT', '/api/v1/namespaces/prod/finalize', { verb: 'update', resource: 'namespaces', name: 'prod', subresource: 'finalize' }, 'k8s:update'],
  ])('%s %s', (method, url, expected, action) => {
    const attrs = requestAttributes(method, url);
    expect(attrs).toMatchObject({ isResourceRequest: true, ...expected });
    expect(actionFor(attrs)).toBe(action);
  });

  it.each([
    ['GET', '/api'],
    ['GET', '/apis'],
    ['GET', '/api/v1'],
    ['GET', '/apis/apps/v1'],
    ['GET', '/version'],
    ['GET', '/openapi/v2'],
  ])('non-resource: %s %s', (method, url) => {
    const attrs = requestAttributes(method, url);
    expect(attrs.isResourceRequest).toBe(false);
    expect(actionFor(attrs)).toBe('k8s:get');
  });

  it('maps a method Kubernetes has no verb for to no action', () => {
    expect(actionFor(requestAttributes('OPTIONS', '/api/v1/namespaces/default/pods'))).toBeUndefined();
  });

  it.each([
    '/api/v1/namespaces/default/secrets%2Fdb-credentials',
    '/api/v1/namespaces/default/pods/../secrets/x',
    '/api/v1/namespaces/default/./secrets/x',
    '/api/v1//namespaces/default/secrets',
    '/api/v1/namespaces/default/secrets\\x',
    '/api/v1/namespaces/default/%E0%A4%A',
    'api/v1/pods',
  ])('refuses a path other layers could read differently: %s', (url) => {
    expect(() => requestAttributes('DELETE', url)).toThrow(RequestAttributeError);
  });

  // Requests the API server reads as something other than the gateway did (each failed on the old code).
  it.each([
    // apimachinery's bool: only "0" and "false" (any case) are false; `watch=f` is a watch.
    ['GET', '/api/v1/namespaces/prod/secrets?watch=f', { verb: 'watch' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces/prod/secrets?watch=F', { verb: 'watch' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces/prod/secrets?watch=no', { verb: 'watch' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces/prod/secrets?watch=', { verb: 'watch' }, 'k8s:watch'],
    ['GET', '/api/v1/namespaces/prod/secrets?watch=fAlSe', { verb: 'list' }, 'k8s:list'],
    ['GET', '/api/v1/namespaces/prod/secrets?watch=false&watch=true', { verb: 'list' }, 'k8s:list'],
    // A backslash escapes in a field selector: the API server does not read `web\-1` as a name.
    ['GET', '/api/v1/namespaces/prod/secrets?fieldSelector=metadata.name%3Dweb%5C-1', { verb: 'list', name: undefined }, 'k8s:list'],
    // An eviction deletes the pod; an ephemeral container runs a command of the client's choosing in it.
    ['POST', '/api/v1/namespaces/default/pods/web-1/eviction', { verb: 'create', subresource: 'eviction', name: 'web-1' }, 'k8s:delete'],
    ['PATCH', '/api/v1/namespaces/default/pods/web-1/ephemeralcontainers', { verb: 'patch', subresource: 'ephemeralcontainers' }, 'k8s:exec'],
    ['PUT', '/api/v1/namespaces/default/pods/web-1/ephemeralcontainers', { verb: 'update', subresource: 'ephemeralcontainers' }, 'k8s:exec'],
    ['GET', '/api/v1/namespaces/default/pods/web-1/ephemeralcontainers', { verb: 'get', subresource: 'ephemeralcontainers' }, 'k8s:get'],
    // Credentials that work without the gateway: a service account token, an approved or signed CSR.
    ['POST', '/api/v1/namespaces/gw/serviceaccounts/deployer/token', { verb: 'create', subresource: 'token', name: 'deployer' }, 'k8s:issue_credential'],
    ['PUT', '/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval', { verb: 'update', subresource: 'approval' }, 'k8s:issue_credential'],
    ['PATCH', '/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval', { verb: 'patch', subresource: 'approval' }, 'k8s:issue_credential'],
    ['PUT', '/apis/certificates.k8s.io/v1beta1/certificatesigningrequests/csr-1/status', { verb: 'update', subresource: 'status' }, 'k8s:issue_credential'],
    ['GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval', { verb: 'get', subresource: 'approval' }, 'k8s:get'],
    ['POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', { verb: 'create', resource: 'certificatesigningrequests' }, 'k8s:create'],
    // Not the same names in another group: only the core group's service accounts mint tokens.
    ['POST', '/apis/example.com/v1/namespaces/gw/serviceaccounts/x/token', { verb: 'create', subresource: 'token' }, 'k8s:create'],
  ])('as the API server reads it: %s %s', (method, url, expected, action) => {
    const attrs = requestAttributes(method, url);
    const { name, ...rest } = expected as { name?: string };
    expect(attrs).toMatchObject({ isResourceRequest: true, ...rest });
    if ('name' in expected) expect(attrs.name).toBe(name);
    expect(actionFor(attrs)).toBe(action);
  });

  it.each([
    // Go's server keeps a `#` in the path: the API server would not read `configmaps/x` here.
    '/api/v1/namespaces/default/configmaps/x#/../../secrets/db-credentials',
    '/api/v1/namespaces/default/pods/web-1/exec?command=ls#&command=rm',
    // Go drops a query pair with a raw `;` or a bad escape: here the API server runs `rm -rf /` alone.
    '/api/v1/namespaces/default/pods/web-1/exec?command=ls;&command=rm&command=-rf&command=/',
    '/api/v1/namespaces/prod/secrets?watch=%zz&watch=false',
    '/api/v1/namespaces/prod/secrets?fieldSelector=metadata.name%3D%FF',
  ])('refuses a request target the API server reads differently: %s', (url) => {
    expect(() => requestAttributes('GET', url)).toThrow(RequestAttributeError);
  });

  it('reads exec stream flags as the API server does', () => {
    expect(execStreamsWanted(new URLSearchParams('stdout=yes&stderr=0&tty=TRUE&stdin=False'))).toEqual({ stdout: true, stderr: false, tty: true, stdin: false });
  });

  it('a PUT and server-side apply may create the object; other writes may not', () => {
    const at = (method: string, url: string) => requestAttributes(method, url);
    const put = at('PUT', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/x');
    expect(mayCreate('PUT', 'application/json', put, actionFor(put))).toBe(true);
    const status = at('PUT', '/apis/apps/v1/namespaces/prod/deployments/web/status');
    expect(mayCreate('PUT', 'application/json', status, actionFor(status))).toBe(true);
    const apply = at('PATCH', '/apis/apps/v1/namespaces/prod/deployments/new-one?fieldManager=kubectl');
    expect(mayCreate('PATCH', 'application/apply-patch+yaml', apply, actionFor(apply))).toBe(true);
    expect(mayCreate('PATCH', 'application/strategic-merge-patch+json', apply, actionFor(apply))).toBe(false);
    expect(mayCreate('POST', 'application/json', at('POST', '/api/v1/namespaces/default/configmaps'), 'k8s:create')).toBe(false);
    // Decided as what they do, and they create nothing.
    const debug = at('PUT', '/api/v1/namespaces/default/pods/web-1/ephemeralcontainers');
    expect(mayCreate('PUT', 'application/json', debug, actionFor(debug))).toBe(false);
    const approve = at('PUT', '/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval');
    expect(mayCreate('PUT', 'application/json', approve, actionFor(approve))).toBe(false);
  });

  it('creating a service account token Secret is decided as issuing a credential too; a Secret whose type cannot be read as well', () => {
    const create = requestAttributes('POST', '/api/v1/namespaces/default/secrets');
    const body = (text: string, type = 'application/json') => readRequestBody(Buffer.from(text), type);
    expect(alsoDecidedAs('POST', 'application/json', create, body('{"type":"kubernetes.io/service-account-token","metadata":{"name":"t"}}')).map((a) => a.action)).toEqual(['k8s:issue_credential']);
    expect(alsoDecidedAs('POST', 'application/json', create, body('{"type":"Opaque","metadata":{"name":"t"}}'))).toEqual([]);
    const protobuf = alsoDecidedAs('POST', 'application/vnd.kubernetes.protobuf', create, body('k8s\u0000', 'application/vnd.kubernetes.protobuf'));
    expect(protobuf.map((a) => a.action)).toEqual(['k8s:issue_credential']);
    expect(protobuf[0]!.why).toContain("the Secret's type cannot be read");
    const apply = requestAttributes('PATCH', '/api/v1/namespaces/default/secrets/t');
    expect(alsoDecidedAs('PATCH', 'application/apply-patch+yaml', apply, body('type: kubernetes.io/service-account-token\n', 'application/apply-patch+yaml'))).toHaveLength(1);
    expect(alsoDecidedAs('PATCH', 'application/merge-patch+json', apply, body('{"type":"kubernetes.io/service-account-token"}'))).toEqual([]);
    const configmap = requestAttributes('POST', '/api/v1/namespaces/default/configmaps');
    expect(alsoDecidedAs('POST', 'application/json', configmap, body('{"type":"kubernetes.io/service-account-token"}'))).toEqual([]);
  });

  it('the demo policy holds an eviction for an approver like a delete (it permits creates in default)', () => {
    const demo = PolicyEngine.compile(DEMO_POLICY);
    const attrs = requestAttributes('POST', '/api/v1/namespaces/default/pods/web-1/eviction');
    const decision = demo.evaluate({
      principal: { id: 'iss#w', kind: 'workload', issuer: 'iss', subject: 'w', roles: [], groups: [], gatewayRoles: ['requester'] },
      action: actionFor(attrs)!, resource: { name: 'k8s-demo', type: 'kubernetes', labels: { demo: 'true' } }, context: policyContextFor(attrs, {}, ''),
    });
    expect(decision.effect).toBe('require_approval');
  });
});
