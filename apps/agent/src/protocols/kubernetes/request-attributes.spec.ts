import { describe, expect, it } from 'vitest';
import { RequestAttributeError, requestAttributes } from './request-attributes.js';
import { actionFor } from './request-policy.js';

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
});
