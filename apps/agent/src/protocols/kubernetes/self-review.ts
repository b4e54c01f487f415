import type { PolicyDecision } from '@gw/policy';
import type { Principal } from '@gw/identity';
import type { RequestAttributes } from './request-attributes.js';
import { ProtobufError, protoFields, protoMessage, protoString, unwrapEnvelope, type ProtoFields } from './k8s-protobuf.js';

/**
 * The self reviews a client asks the API server about itself, which the agent answers from the
 * gateway's policy instead of forwarding them:
 * - `SelfSubjectAccessReview` (`kubectl auth can-i <verb> <resource>`, and tools such as Helm, Argo CD
 *   and k9s that check before they act): upstream the request runs as the session's service account,
 *   whose RBAC says nothing of what the gateway lets this principal do; the gateway's policy is the
 *   gate the principal's requests meet, so it is what the answer reports;
 * - `SelfSubjectRulesReview` (`kubectl auth can-i --list`): policy is not a list of rules, so the
 *   answer is an empty, `incomplete` list that says how to ask about one request;
 * - `SelfSubjectReview` (`kubectl auth whoami`): the principal the gateway verified.
 * Asking changes nothing and reveals only what trying the request would: any principal that may
 * connect may ask.
 */
export type SelfReviewKind = 'access' | 'rules' | 'whoami';

export function selfReviewKind(attrs: RequestAttributes): SelfReviewKind | undefined {
  if (!attrs.isResourceRequest || attrs.verb !== 'create' || attrs.subresource !== undefined || attrs.name !== undefined) return undefined;
  if (attrs.apiGroup === 'authorization.k8s.io' && attrs.namespace === undefined) {
    if (attrs.resource === 'selfsubjectaccessreviews') return 'access';
    if (attrs.resource === 'selfsubjectrulesreviews') return 'rules';
  }
  if (attrs.apiGroup === 'authentication.k8s.io' && attrs.resource === 'selfsubjectreviews' && attrs.namespace === undefined) return 'whoami';
  return undefined;
}

export class SelfReviewError extends Error {}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

interface NonResourceAttributes {
  path?: string;
  verb?: string;
}

function stringField(object: Record<string, unknown>, key: string): string | undefined {
  const value = object[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new SelfReviewError(`spec field ${key} must be a string`);
  return value;
}

function objectField(object: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new SelfReviewError(`spec.${key} must be an object`);
  return value as Record<string, unknown>;
}

/** ResourceAttributes' and NonResourceAttributes' protobuf field numbers (k8s.io/api/authorization/v1). */
const RESOURCE_ATTRIBUTE_FIELDS = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'] as const;
const NON_RESOURCE_ATTRIBUTE_FIELDS = ['path', 'verb'] as const;

function protoAttributes(fields: ProtoFields | undefined, names: readonly string[]): Record<string, string> | undefined {
  if (!fields) return undefined;
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    const value = protoString(fields, i + 1);
    if (value !== undefined) out[name] = value;
  });
  return out;
}

/**
 * A review sent in protobuf (kubectl 1.32+), as the JSON it stands for: SelfSubjectAccessReview and
 * SelfSubjectRulesReview carry their spec in field 2 (access: resourceAttributes 1, nonResourceAttributes 2;
 * rules: namespace 1); SelfSubjectReview has no spec.
 */
function reviewFromProtobuf(body: Buffer, kind: SelfReviewKind): Record<string, unknown> {
  try {
    const spec = protoMessage(protoFields(unwrapEnvelope(body)), 2);
    if (kind === 'whoami') return {};
    if (kind === 'rules') return { spec: { ...(protoString(spec, 1) ? { namespace: protoString(spec, 1) } : {}) } };
    const resourceAttributes = protoAttributes(protoMessage(spec, 1), RESOURCE_ATTRIBUTE_FIELDS);
    const nonResourceAttributes = protoAttributes(protoMessage(spec, 2), NON_RESOURCE_ATTRIBUTE_FIELDS);
    return { spec: { ...(resourceAttributes ? { resourceAttributes } : {}), ...(nonResourceAttributes ? { nonResourceAttributes } : {}) } };
  } catch (error) {
    if (error instanceof ProtobufError) throw new SelfReviewError(`the review's protobuf body cannot be read: ${error.message}`);
    throw error;
  }
}

/** The review's body (JSON, or Kubernetes protobuf); a body that is neither is a SelfReviewError (400). */
export function parseReview(body: Buffer | undefined, kind: SelfReviewKind, contentType?: string): Record<string, unknown> {
  if (/^\s*application\/vnd\.kubernetes\.protobuf\s*(;|$)/i.test(contentType ?? '')) return reviewFromProtobuf(body ?? Buffer.alloc(0), kind);
  let parsed: unknown;
  try {
    parsed = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    throw new SelfReviewError('the review must be sent as JSON or Kubernetes protobuf');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SelfReviewError('the review must be a JSON object');
  const review = parsed as Record<string, unknown>;
  if (kind !== 'whoami' && (typeof review['spec'] !== 'object' || review['spec'] === null)) throw new SelfReviewError('the review has no spec');
  return review;
}

/**
 * Built-in resources that live outside namespaces (`<API group>/<resource>`, the core group is ""):
 * kubectl sends its context's namespace with a review of one of them (it only warns "resource ... is
 * not namespace scoped"), while the real request's path has none, and policy may decide on
 * `context.namespace`: the review is answered for the request as it would really be made.
 */
const CLUSTER_SCOPED = new Set([
  '/namespaces', '/nodes', '/persistentvolumes', '/componentstatuses',
  'rbac.authorization.k8s.io/clusterroles', 'rbac.authorization.k8s.io/clusterrolebindings',
  'storage.k8s.io/storageclasses', 'storage.k8s.io/csidrivers', 'storage.k8s.io/csinodes', 'storage.k8s.io/volumeattachments',
  'apiextensions.k8s.io/customresourcedefinitions', 'apiregistration.k8s.io/apiservices',
  'admissionregistration.k8s.io/mutatingwebhookconfigurations', 'admissionregistration.k8s.io/validatingwebhookconfigurations',
  'admissionregistration.k8s.io/validatingadmissionpolicies', 'admissionregistration.k8s.io/validatingadmissionpolicybindings',
  'scheduling.k8s.io/priorityclasses', 'node.k8s.io/runtimeclasses', 'certificates.k8s.io/certificatesigningrequests',
  'flowcontrol.apiserver.k8s.io/flowschemas', 'flowcontrol.apiserver.k8s.io/prioritylevelconfigurations',
  'networking.k8s.io/ingressclasses', 'networking.k8s.io/ipaddresses', 'networking.k8s.io/servicecidrs',
]);

/**
 * The request attributes a SelfSubjectAccessReview asks about, as the API server would derive them for
 * the real request (the `*` wildcards of RBAC mean nothing to policy: asked as the literal value).
 */
export function reviewedAttributes(spec: Record<string, unknown>): RequestAttributes {
  const resourceAttributes = objectField(spec, 'resourceAttributes');
  const nonResourceAttributes = objectField(spec, 'nonResourceAttributes');
  if (resourceAttributes && nonResourceAttributes) throw new SelfReviewError('spec has both resourceAttributes and nonResourceAttributes');
  if (nonResourceAttributes) {
    const n: NonResourceAttributes = { path: stringField(nonResourceAttributes, 'path'), verb: stringField(nonResourceAttributes, 'verb') };
    if (!n.path || !n.verb) throw new SelfReviewError('spec.nonResourceAttributes needs a path and a verb');
    return { isResourceRequest: false, verb: n.verb.toLowerCase(), path: n.path };
  }
  if (!resourceAttributes) throw new SelfReviewError('spec needs resourceAttributes or nonResourceAttributes');
  const r: ResourceAttributes = {
    namespace: stringField(resourceAttributes, 'namespace'),
    verb: stringField(resourceAttributes, 'verb'),
    group: stringField(resourceAttributes, 'group'),
    version: stringField(resourceAttributes, 'version'),
    resource: stringField(resourceAttributes, 'resource'),
    subresource: stringField(resourceAttributes, 'subresource'),
    name: stringField(resourceAttributes, 'name'),
  };
  if (!r.verb || !r.resource) throw new SelfReviewError('spec.resourceAttributes needs a verb and a resource');
  const group = r.group ?? '';
  if (CLUSTER_SCOPED.has(`${group}/${r.resource}`)) delete r.namespace;
  const version = r.version ?? (group === '' ? 'v1' : '*');
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const path = `${base}${r.namespace ? `/namespaces/${r.namespace}` : ''}/${r.resource}${r.name ? `/${r.name}` : ''}${r.subresource ? `/${r.subresource}` : ''}`;
  return {
    isResourceRequest: true,
    verb: r.verb,
    path,
    apiPrefix: group === '' ? 'api' : 'apis',
    apiGroup: group,
    apiVersion: version,
    ...(r.namespace ? { namespace: r.namespace } : {}),
    resource: r.resource,
    ...(r.subresource ? { subresource: r.subresource } : {}),
    ...(r.name ? { name: r.name } : {}),
  };
}

/** The review's status for a policy decision (undefined decision: the request maps to no gateway action). */
export function accessReviewStatus(decision: PolicyDecision | undefined): { allowed: boolean; denied?: boolean; reason: string } {
  if (!decision) return { allowed: false, denied: true, reason: 'the gateway has no action for this request: it is refused' };
  const policies = decision.determiningPolicies.length > 0 ? ` (${decision.determiningPolicies.map((p) => `"${p}"`).join(', ')})` : '';
  const why = decision.reasons.length > 0 ? `: ${decision.reasons.join('; ')}` : '';
  if (decision.effect === 'allow') return { allowed: true, reason: `allowed by gateway policy${policies}` };
  if (decision.effect === 'require_approval') return { allowed: false, reason: `the gateway holds this request for an approver${policies}${why}` };
  return { allowed: false, denied: true, reason: `denied by gateway policy${policies}${why}` };
}

/** The answer to a SelfSubjectRulesReview: the gateway decides requests one by one, so no rules can be listed. */
export function rulesReviewStatus(): Record<string, unknown> {
  return {
    resourceRules: [],
    nonResourceRules: [],
    incomplete: true,
    evaluationError: 'the gateway decides each request by policy, which is not a list of rules: ask about one request (kubectl auth can-i <verb> <resource>)',
  };
}

/** The answer to a SelfSubjectReview (`kubectl auth whoami`): the principal the gateway verified. */
export function whoamiStatus(principal: Principal): Record<string, unknown> {
  return {
    userInfo: {
      username: principal.id,
      groups: [...principal.groups],
      extra: {
        'gateway.roles': [...principal.gatewayRoles],
        ...(principal.displayName ? { 'gateway.displayName': [principal.displayName] } : {}),
      },
    },
  };
}

/** The review as the API server returns it: what was sent, with the status filled in. */
export function reviewAnswer(kind: SelfReviewKind, attrs: RequestAttributes, review: Record<string, unknown>, status: Record<string, unknown>): Record<string, unknown> {
  const name = { whoami: 'SelfSubjectReview', access: 'SelfSubjectAccessReview', rules: 'SelfSubjectRulesReview' }[kind];
  // The version the client asked at (kubectl 1.27 asks whoami at v1beta1).
  return { kind: name, apiVersion: `${attrs.apiGroup}/${attrs.apiVersion}`, metadata: { creationTimestamp: null }, ...(kind === 'whoami' ? {} : { spec: review['spec'] }), status };
}
