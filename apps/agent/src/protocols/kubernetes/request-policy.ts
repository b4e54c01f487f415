import type { GatewayAction, PolicyContext, PolicyDecision } from '@gw/policy';
import type { RequestAttributes } from './request-attributes.js';
import type { BodyRead } from './request-body.js';

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
 * Writes to subresources that do what another action does, decided as that action (the subresource
 * stays in `context.subresource`), keyed `<API group>/<resource>/<subresource>` (the core group is ""):
 * - a pod eviction deletes the pod (`POST .../pods/<name>/eviction` is a `create` to RBAC, but it is
 *   how a pod is deleted without `k8s:delete`);
 * - an ephemeral container runs an image and command of the client's choosing inside the pod
 *   (`kubectl debug`), which is what `k8s:exec` guards;
 * - credentials that work without the gateway, `k8s:issue_credential`: a TokenRequest
 *   (`kubectl create token`) returns a bearer token of the service account; approving a certificate
 *   signing request (`kubectl certificate approve`) lets its signer issue the certificate (for the
 *   `kubernetes.io/kube-apiserver-client` signer: a client certificate of any user and group the
 *   request names), and its `status` is where a signer writes the certificate itself. Creating the
 *   request only asks; it issues nothing until it is approved.
 */
const SUBRESOURCE_WRITES: Record<string, Partial<Record<string, GatewayAction>>> = {
  '/pods/eviction': { create: 'k8s:delete' },
  '/pods/ephemeralcontainers': { update: 'k8s:exec', patch: 'k8s:exec' },
  '/serviceaccounts/token': { create: 'k8s:issue_credential' },
  'certificates.k8s.io/certificatesigningrequests/approval': { update: 'k8s:issue_credential', patch: 'k8s:issue_credential' },
  'certificates.k8s.io/certificatesigningrequests/status': { update: 'k8s:issue_credential', patch: 'k8s:issue_credential' },
};

/** A Secret of this type is filled by the API server's token controller with a token of the service account it names, which never expires. */
export const SERVICE_ACCOUNT_TOKEN_SECRET = 'kubernetes.io/service-account-token';

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
  if (attrs.subresource) {
    const instead = SUBRESOURCE_WRITES[`${attrs.apiGroup ?? ''}/${attrs.resource ?? ''}/${attrs.subresource}`]?.[attrs.verb];
    if (instead) return instead;
  }
  return VERB_ACTIONS[attrs.verb];
}

/** Server-side apply: `PATCH` with an `application/apply-patch+yaml` (or `+cbor`) body. */
export function isServerSideApply(method: string, contentType: string | undefined): boolean {
  return method.toUpperCase() === 'PATCH' && /^\s*application\/apply-patch\+/i.test(contentType ?? '');
}

/**
 * Whether the request creates the object when it does not exist, in which case the API server also
 * authorizes it as `create` (same resource, subresource, namespace and name): a `PUT` to a resource
 * that allows create-on-update (role bindings, roles, services, leases, events ... among the built-in
 * ones; which ones is the API server's to know, so every `PUT` counts), and server-side apply, which
 * creates whatever it names. Subresources count too: whether a subresource's store creates is the
 * resource's business. Only requests decided as `k8s:update` or `k8s:patch` (an ephemeral container
 * or a CSR approval is decided as what it does, and creates nothing).
 */
export function mayCreate(method: string, contentType: string | undefined, attrs: RequestAttributes, action: GatewayAction | undefined): boolean {
  if (!attrs.isResourceRequest || attrs.name === undefined) return false;
  if (action === 'k8s:update') return method.toUpperCase() === 'PUT';
  return action === 'k8s:patch' && isServerSideApply(method, contentType);
}

/** Another action a request must also be permitted as, and why (the stricter decision wins). */
export interface AlsoDecided {
  action: GatewayAction;
  why: string;
}

/**
 * Built-in kinds whose objects are or make pods (`<API group>/<resource>`, the core group is ""), and
 * the one subresource that changes a pod's containers: their writes carry a pod spec. A
 * ControllerRevision holds a past pod template that a rollback puts back.
 */
const WORKLOAD_RESOURCES = new Set([
  '/pods', '/podtemplates', '/replicationcontrollers',
  'apps/deployments', 'apps/replicasets', 'apps/statefulsets', 'apps/daemonsets', 'apps/controllerrevisions',
  'batch/jobs', 'batch/cronjobs',
]);
const WORKLOAD_SUBRESOURCES = new Set(['/pods/ephemeralcontainers']);

/**
 * The API group of a custom resource: a CRD's group has a dot in it, and Kubernetes' own groups end
 * in `k8s.io`. An operator makes pods from its custom resources (Argo Workflows and Rollouts, Tekton,
 * Knative, KubeVirt, the Prometheus operator ...), from a pod template inside them or from pod fields
 * in their spec (`hostNetwork`, `volumes`, `securityContext`), so their writes are searched as a
 * workload's are. A field of the same name that means something else in some custom resource only
 * makes its write need k8s:run_privileged too: the refusal names the field.
 */
function isCustomResourceGroup(group: string | undefined): boolean {
  return group !== undefined && group.includes('.') && group !== 'k8s.io' && !group.endsWith('.k8s.io');
}

/**
 * Whether the request writes a pod spec: a create, update or patch of a workload kind (or of a pod's
 * ephemeral containers), or of a custom resource (its main resource: not status or scale).
 */
function writesPodSpec(attrs: RequestAttributes): boolean {
  if (!attrs.isResourceRequest || !['create', 'update', 'patch'].includes(attrs.verb)) return false;
  const key = `${attrs.apiGroup ?? ''}/${attrs.resource ?? ''}`;
  if (attrs.subresource !== undefined) return WORKLOAD_SUBRESOURCES.has(`${key}/${attrs.subresource}`);
  return WORKLOAD_RESOURCES.has(key) || isCustomResourceGroup(attrs.apiGroup);
}

/**
 * Other actions a request must also be permitted as:
 * - creating a Secret of type `kubernetes.io/service-account-token` (a POST, or a server-side apply,
 *   which may create it) has the API server put a token of the service account in it that never
 *   expires: also `k8s:issue_credential`; a body whose type cannot be read (protobuf) is decided so too;
 * - writing a pod spec (a Pod, a Deployment, a Job ..., a pod's ephemeral containers, a custom resource) that asks for
 *   more than the Pod Security Standards' baseline (host namespaces, hostPath volumes, host ports,
 *   privileged containers, added capabilities, unconfined profiles ...: pod-privileges.ts) reaches the
 *   node: also `k8s:run_privileged`; a body that cannot be read is decided so too.
 */
export function alsoDecidedAs(method: string, contentType: string | undefined, attrs: RequestAttributes, body: BodyRead): AlsoDecided[] {
  const also: AlsoDecided[] = [];
  if (writesPodSpec(attrs)) {
    if (!body.readable) also.push({ action: 'k8s:run_privileged', why: `the pod spec cannot be read from the body (${body.message}), and a pod spec can ask for the node's privileges` });
    else if (body.privileges) also.push({ action: 'k8s:run_privileged', why: `the pod spec asks for ${body.privileges.slice(0, 5).join(', ')}${body.privileges.length > 5 ? ' ...' : ''}, which reaches the node` });
  }
  const creates = attrs.verb === 'create' || (attrs.verb === 'patch' && isServerSideApply(method, contentType));
  if (!attrs.isResourceRequest || attrs.apiGroup !== '' || attrs.resource !== 'secrets' || attrs.subresource !== undefined || !creates) return also;
  if (!body.readable) also.push({ action: 'k8s:issue_credential', why: `the Secret's type cannot be read from the body (${body.message}), and a ${SERVICE_ACCOUNT_TOKEN_SECRET} Secret is filled with a service account token` });
  else if (body.type === SERVICE_ACCOUNT_TOKEN_SECRET) also.push({ action: 'k8s:issue_credential', why: `a Secret of type ${SERVICE_ACCOUNT_TOKEN_SECRET} is filled with a token of its service account that never expires` });
  return also;
}

export const STRICTNESS: Record<PolicyDecision['effect'], number> = { allow: 0, require_approval: 1, deny: 2 };

/** The stricter of two decisions (deny, then require_approval, then allow); on a tie, the first. */
export function stricterDecision(first: PolicyDecision, second: PolicyDecision): PolicyDecision {
  return STRICTNESS[second.effect] > STRICTNESS[first.effect] ? second : first;
}

export interface RequestExtras {
  /** metadata.labels the body sets (JSON, YAML, the JSON patch forms, server-side apply). */
  objectLabels?: Record<string, string>;
  /** exec/attach: the container and command from the query. */
  container?: string;
  command?: string[];
  /** port-forward: the pod port of one forwarded connection (or of one `ports` value). */
  port?: number;
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
  if (extras.port !== undefined) context.port = extras.port;
  return context;
}

/** What a refusal names: `pods "web-1"`, `pods`, or the path of a non-resource request. */
export function describeTarget(attrs: RequestAttributes): string {
  if (!attrs.isResourceRequest) return attrs.path;
  const resource = `${attrs.resource ?? ''}${attrs.subresource ? `/${attrs.subresource}` : ''}${attrs.apiGroup ? `.${attrs.apiGroup}` : ''}`;
  return attrs.name !== undefined ? `${resource} "${attrs.name}"` : resource;
}
