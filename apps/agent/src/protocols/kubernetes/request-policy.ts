import type { GatewayAction, PolicyContext, PolicyDecision } from '@gw/policy';
import type { RequestAttributes } from './request-attributes.js';

const VERB_ACTIONS: Record<string, GatewayAction> = {
  get: 'k8s:get',
  list: 'k8s:list',
  watch: 'k8s:watch',
  create: 'k8s:create',
  update: 'k8s:update',
  patch: 'k8s:patch',
  delete: 'k8s:delete',
  deletecollection: 'k8s:deletecollection',
  proxy: 'k8s:proxy',
};
/** Non-resource requests (discovery, /version, /openapi) by method. */
const METHOD_ACTIONS: Record<string, GatewayAction> = {
  get: 'k8s:get',
  head: 'k8s:get',
  post: 'k8s:create',
  put: 'k8s:update',
  patch: 'k8s:patch',
  delete: 'k8s:delete',
};
/** Subresources that are actions of their own: they run code or open a channel into a pod or node. */
const SUBRESOURCE_ACTIONS: Record<string, GatewayAction> = {
  exec: 'k8s:exec',
  attach: 'k8s:attach',
  portforward: 'k8s:portforward',
  proxy: 'k8s:proxy',
};

/**
 * Writes to pod subresources that do what another action does, decided as that action (the
 * subresource stays in `context.subresource`): an eviction deletes the pod (`POST
 * .../pods/<name>/eviction` is a `create` to RBAC, but it is how a pod is deleted without
 * `k8s:delete`), and an ephemeral container runs an image and command of the client's choosing
 * inside the pod (`kubectl debug`), which is what `k8s:exec` guards.
 */
const POD_SUBRESOURCE_WRITES: Record<string, Partial<Record<string, GatewayAction>>> = {
  eviction: { create: 'k8s:delete' },
  ephemeralcontainers: { update: 'k8s:exec', patch: 'k8s:exec' },
};

/** Kinds of the common built-in resources, so that policies can say `context.kind == "Secret"`. */
const KINDS: Record<string, string> = {
  pods: 'Pod',
  secrets: 'Secret',
  configmaps: 'ConfigMap',
  namespaces: 'Namespace',
  services: 'Service',
  serviceaccounts: 'ServiceAccount',
  nodes: 'Node',
  events: 'Event',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  persistentvolumes: 'PersistentVolume',
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  jobs: 'Job',
  cronjobs: 'CronJob',
  ingresses: 'Ingress',
  roles: 'Role',
  rolebindings: 'RoleBinding',
  clusterroles: 'ClusterRole',
  clusterrolebindings: 'ClusterRoleBinding',
};

/** The Cedar action of a request; undefined when it maps to none (refused: no policy can allow it). */
export function actionFor(attrs: RequestAttributes): GatewayAction | undefined {
  if (!attrs.isResourceRequest) return METHOD_ACTIONS[attrs.verb];
  if (attrs.subresource && SUBRESOURCE_ACTIONS[attrs.subresource]) return SUBRESOURCE_ACTIONS[attrs.subresource];
  if (attrs.apiGroup === '' && attrs.resource === 'pods' && attrs.subresource) {
    const instead = POD_SUBRESOURCE_WRITES[attrs.subresource]?.[attrs.verb];
    if (instead) return instead;
  }
  return VERB_ACTIONS[attrs.verb];
}

/**
 * A second action the request must also be permitted as. Server-side apply (`PATCH` with an
 * `application/apply-patch+yaml` or `+cbor` body, `kubectl apply --server-side`) creates the object
 * when it does not exist, and the API server then authorizes `create` as well; the gateway cannot
 * know whether the object exists, so it decides `k8s:create` too (a subresource is never created).
 */
export function alsoDecidedAs(method: string, contentType: string | undefined, attrs: RequestAttributes): GatewayAction | undefined {
  if (!attrs.isResourceRequest || attrs.subresource !== undefined || attrs.verb !== 'patch') return undefined;
  return method.toUpperCase() === 'PATCH' && /^\s*application\/apply-patch\+/i.test(contentType ?? '') ? 'k8s:create' : undefined;
}

const STRICTNESS: Record<PolicyDecision['effect'], number> = { allow: 0, require_approval: 1, deny: 2 };

/** The stricter of two decisions (deny, then require_approval, then allow); on a tie, the first. */
export function stricterDecision(first: PolicyDecision, second: PolicyDecision): PolicyDecision {
  return STRICTNESS[second.effect] > STRICTNESS[first.effect] ? second : first;
}

export interface RequestExtras {
  /** metadata.labels of the object in the body, where the body is JSON. */
  objectLabels?: Record<string, string>;
  /** exec/attach: the container and command from the query. */
  container?: string;
  command?: string[];
}

export function policyContextFor(attrs: RequestAttributes, extras: RequestExtras, sourceIp: string): PolicyContext {
  const context: PolicyContext = { sourceIp, hasGrant: true };
  if (!attrs.isResourceRequest) {
    context.nonResource = true;
    context.path = attrs.path;
    return context;
  }
  context.nonResource = false;
  context.path = attrs.path;
  context.apiGroup = attrs.apiGroup ?? '';
  if (attrs.apiVersion !== undefined) context.apiVersion = attrs.apiVersion;
  if (attrs.resource !== undefined) {
    context.apiResource = attrs.resource;
    const kind = attrs.apiGroup === '' || ['apps', 'batch', 'networking.k8s.io', 'rbac.authorization.k8s.io'].includes(attrs.apiGroup ?? '') ? KINDS[attrs.resource] : undefined;
    if (kind) context.kind = kind;
  }
  if (attrs.subresource !== undefined) context.subresource = attrs.subresource;
  if (attrs.namespace !== undefined) context.namespace = attrs.namespace;
  if (attrs.name !== undefined) context.name = attrs.name;
  if (extras.objectLabels) context.objectLabels = Object.entries(extras.objectLabels).map(([k, v]) => `${k}=${v}`);
  if (extras.container !== undefined) context.container = extras.container;
  if (extras.command) context.command = extras.command.join(' ');
  return context;
}

/** What a refusal names: `pods "web-1"`, `pods`, or the path of a non-resource request. */
export function describeTarget(attrs: RequestAttributes): string {
  if (!attrs.isResourceRequest) return attrs.path;
  const resource = `${attrs.resource ?? ''}${attrs.subresource ? `/${attrs.subresource}` : ''}${attrs.apiGroup ? `.${attrs.apiGroup}` : ''}`;
  return attrs.name !== undefined ? `${resource} "${attrs.name}"` : resource;
}
