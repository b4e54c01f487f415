import { describe, expect, it } from 'vitest';
import { DEMO_POLICY, PolicyEngine, type PolicyInput } from '@gw/policy';
import { RequestAttributeError, requestAttributes } from './request-attributes.js';
import { actionFor, alsoDecidedAs, policyContextFor, stricterDecision } from './request-policy.js';
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
    ['POST', '/api/v1/namespaces/gw/serviceaccounts/deployer/token', { verb: 'create', subresource: 'token' }, 'k8s:create'],
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

  it('decides server-side apply as create too: it creates the object when it does not exist', () => {
    const engine = PolicyEngine.compile(`
      @id("patch-only")
      permit (principal, action == Gateway::Action::"k8s:patch", resource);
    `);
    const attrs = requestAttributes('PATCH', '/apis/apps/v1/namespaces/prod/deployments/new-one?fieldManager=kubectl');
    const decide = (action: PolicyInput['action']) => engine.evaluate({
      principal: { id: 'iss#w', kind: 'workload', issuer: 'iss', subject: 'w', roles: [], groups: [], gatewayRoles: [] },
      action, resource: { name: 'c', type: 'kubernetes', labels: {} }, context: policyContextFor(attrs, {}, ''),
    });
    expect(alsoDecidedAs('PATCH', 'application/apply-patch+yaml', attrs)).toBe('k8s:create');
    expect(alsoDecidedAs('PATCH', 'application/strategic-merge-patch+json', attrs)).toBeUndefined();
    expect(alsoDecidedAs('PATCH', 'application/apply-patch+yaml', requestAttributes('PATCH', '/apis/apps/v1/namespaces/prod/deployments/web/status'))).toBeUndefined();
    const patch = decide('k8s:patch');
    expect(patch.effect).toBe('allow');
    expect(stricterDecision(patch, decide(alsoDecidedAs('PATCH', 'application/apply-patch+yaml', attrs)!)).effect).toBe('deny');
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
