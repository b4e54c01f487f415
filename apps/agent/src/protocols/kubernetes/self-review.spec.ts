import { describe, expect, it } from 'vitest';
import type { PolicyDecision } from '@gw/policy';
import { requestAttributes } from './request-attributes.js';
import { SelfReviewError, accessReviewStatus, parseReview, reviewedAttributes, selfReviewKind } from './self-review.js';

/** Protobuf encoding for the tests: a length-delimited field (numbers and lengths below 128 here). */
const field = (n: number, value: Buffer | string): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes]);
};
const envelope = (raw: Buffer): Buffer => Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, Buffer.concat([field(1, 'authorization.k8s.io/v1'), field(2, 'SelfSubjectAccessReview')])), field(2, raw)]);
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

describe('self reviews (kubectl auth can-i / whoami)', () => {
  it('knows the three self reviews by their path and nothing else', () => {
    expect(selfReviewKind(requestAttributes('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'))).toBe('access');
    expect(selfReviewKind(requestAttributes('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews'))).toBe('rules');
    expect(selfReviewKind(requestAttributes('POST', '/apis/authentication.k8s.io/v1beta1/selfsubjectreviews'))).toBe('whoami');
    // Reviews of someone else are the API server's (and policy's) business.
    expect(selfReviewKind(requestAttributes('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews'))).toBeUndefined();
    expect(selfReviewKind(requestAttributes('POST', '/apis/authorization.k8s.io/v1/namespaces/a/localsubjectaccessreviews'))).toBeUndefined();
    expect(selfReviewKind(requestAttributes('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'))).toBeUndefined();
  });

  it('asks about the request as the API server would derive it; a cluster-scoped resource loses the namespace kubectl sends', () => {
    expect(reviewedAttributes({ resourceAttributes: { namespace: 'prod', verb: 'delete', resource: 'pods', name: 'api-1' } })).toMatchObject({
      isResourceRequest: true, verb: 'delete', apiGroup: '', namespace: 'prod', resource: 'pods', name: 'api-1', path: '/api/v1/namespaces/prod/pods/api-1',
    });
    expect(reviewedAttributes({ resourceAttributes: { namespace: 'default', verb: 'create', resource: 'pods', subresource: 'exec', name: 'web-1' } })).toMatchObject({ subresource: 'exec' });
    const ns = reviewedAttributes({ resourceAttributes: { namespace: 'default', verb: 'create', resource: 'namespaces' } });
    expect(ns.namespace).toBeUndefined();
    expect(ns.path).toBe('/api/v1/namespaces');
    expect(reviewedAttributes({ resourceAttributes: { namespace: 'default', verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' } }).namespace).toBeUndefined();
    expect(reviewedAttributes({ resourceAttributes: { namespace: 'default', verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings' } }).namespace).toBe('default');
    expect(reviewedAttributes({ nonResourceAttributes: { path: '/version', verb: 'get' } })).toEqual({ isResourceRequest: false, verb: 'get', path: '/version' });
    for (const bad of [{}, { resourceAttributes: { verb: 'get' } }, { resourceAttributes: { verb: 1, resource: 'pods' } }, { resourceAttributes: {}, nonResourceAttributes: {} }, { nonResourceAttributes: { path: '/x' } }]) {
      expect(() => reviewedAttributes(bad)).toThrow(SelfReviewError);
    }
  });

  it('reads the review from JSON and from Kubernetes protobuf (kubectl 1.32+); anything else is a 400', () => {
    const json = Buffer.from(JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'get', resource: 'secrets', namespace: 'default' } } }));
    expect(parseReview(json, 'access', 'application/json')).toMatchObject({ spec: { resourceAttributes: { verb: 'get', resource: 'secrets' } } });
    const attributes = Buffer.concat([field(1, 'prod'), field(2, 'delete'), field(5, 'pods'), field(7, 'api-1')]);
    const proto = envelope(Buffer.concat([field(1, Buffer.alloc(0)), field(2, field(1, attributes))]));
    expect(parseReview(proto, 'access', PROTOBUF)).toEqual({ spec: { resourceAttributes: { namespace: 'prod', verb: 'delete', resource: 'pods', name: 'api-1' } } });
    const nonResource = envelope(field(2, field(2, Buffer.concat([field(1, '/healthz'), field(2, 'get')]))));
    expect(parseReview(nonResource, 'access', `${PROTOBUF}; charset=binary`)).toEqual({ spec: { nonResourceAttributes: { path: '/healthz', verb: 'get' } } });
    expect(parseReview(envelope(Buffer.alloc(0)), 'whoami', PROTOBUF)).toEqual({});
    const truncated = proto.subarray(0, proto.length - 3);
    for (const [body, type] of [[truncated, PROTOBUF], [Buffer.from('k8s'), PROTOBUF], [json, PROTOBUF], [Buffer.from('{"spec":'), 'application/json'], [Buffer.from('[]'), 'application/json']] as const) {
      expect(() => parseReview(body, 'access', type)).toThrow(SelfReviewError);
    }
  });

  it('answers with the decision: allowed, held for an approver (not allowed), denied naming the policy', () => {
    const decision = (effect: PolicyDecision['effect'], ids: string[], reasons: string[]) => ({ effect, determiningPolicies: ids, reasons }) as unknown as PolicyDecision;
    expect(accessReviewStatus(decision('allow', ['read'], []))).toEqual({ allowed: true, reason: 'allowed by gateway policy ("read")' });
    expect(accessReviewStatus(decision('require_approval', ['delete-approval'], ['approval required']))).toEqual({ allowed: false, reason: 'the gateway holds this request for an approver ("delete-approval"): approval required' });
    expect(accessReviewStatus(decision('deny', ['no-secrets'], ['secrets are not for workloads']))).toEqual({ allowed: false, denied: true, reason: 'denied by gateway policy ("no-secrets"): secrets are not for workloads' });
    expect(accessReviewStatus(undefined)).toMatchObject({ allowed: false, denied: true });
  });
});
