// In-memory objects of the test API server double: a few built-in resources, resource versions,
// and watchers that get every change.

/**
 * The resources the double serves: group/version, plural, kind, namespaced, Table columns, and
 * whether a PUT to a missing object creates it (as the real API server's strategies say: role
 * bindings and roles do, pods, secrets, configmaps, deployments ... do not).
 */
export const RESOURCES = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, columns: ['Status'], cells: (o) => [o.status?.phase ?? 'Active'] },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true, columns: ['Ready', 'Status'], cells: (o) => ['1/1', o.status?.phase ?? 'Running'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true, columns: ['Type', 'Data'], cells: (o) => [o.type ?? 'Opaque', Object.keys(o.data ?? {}).length] },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, columns: ['Data'], cells: (o) => [Object.keys(o.data ?? {}).length] },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, columns: [], cells: () => [] },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true, columns: ['Ready'], cells: (o) => [`${o.spec?.replicas ?? 1}/${o.spec?.replicas ?? 1}`] },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', kind: 'Role', namespaced: true, columns: [], cells: () => [], allowCreateOnUpdate: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', kind: 'RoleBinding', namespaced: true, columns: ['Role'], cells: (o) => [`${o.roleRef?.kind ?? ''}/${o.roleRef?.name ?? ''}`], allowCreateOnUpdate: true },
  // A custom resource (as a CRD would serve it): an operator makes pods from its templates.
  { group: 'argoproj.io', version: 'v1alpha1', resource: 'workflows', kind: 'Workflow', namespaced: true, columns: ['Status'], cells: (o) => [o.status?.phase ?? 'Pending'] },
  { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', kind: 'CertificateSigningRequest', namespaced: false, columns: ['SignerName', 'Condition'], cells: (o) => [o.spec?.signerName ?? '', (o.status?.conditions ?? []).map((c) => c.type).join(',') || 'Pending'] },
];

/** The API groups the double serves besides the core group, in discovery order. */
export const GROUPS = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => `${r.group}/${r.version}`))];

export function resourceInfo(group, version, resource) {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export class Store {
  constructor() {
    this.rv = 100;
    this.objects = new Map(); // key -> object
    this.watchers = new Set();
  }

  key(info, namespace, name) {
    return `${info.group}/${info.resource}/${info.namespaced ? namespace : ''}/${name}`;
  }

  list(info, namespace) {
    const prefix = `${info.group}/${info.resource}/${info.namespaced && namespace ? namespace : ''}`;
    return [...this.objects.entries()].filter(([k]) => (info.namespaced && !namespace ? k.startsWith(`${info.group}/${info.resource}/`) : k.startsWith(`${prefix}/`))).map(([, o]) => o);
  }

  get(info, namespace, name) {
    return this.objects.get(this.key(info, namespace, name));
  }

  put(info, namespace, object, type) {
    this.rv += 1;
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    const metadata = { ...(object.metadata ?? {}), resourceVersion: String(this.rv) };
    if (info.namespaced) metadata.namespace = namespace;
    metadata.uid ??= `uid-${this.rv}`;
    metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const stored = { ...object, apiVersion, kind: info.kind, metadata };
    this.objects.set(this.key(info, namespace, metadata.name), stored);
    this.emit(info, namespace, type, stored);
    return stored;
  }

  remove(info, namespace, name) {
    const k = this.key(info, namespace, name);
    const existing = this.objects.get(k);
    if (!existing) return undefined;
    this.objects.delete(k);
    this.rv += 1;
    const gone = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(this.rv) } };
    this.emit(info, namespace, 'DELETED', gone);
    return gone;
  }

  emit(info, namespace, type, object) {
    for (const w of this.watchers) {
      if (w.info !== info) continue;
      if (w.namespace && info.namespaced && w.namespace !== namespace) continue;
      if (w.name && w.name !== object.metadata.name) continue;
      w.send(type, object);
    }
  }

  seed() {
    const ns = resourceInfo('', 'v1', 'namespaces');
    const pods = resourceInfo('', 'v1', 'pods');
    const secrets = resourceInfo('', 'v1', 'secrets');
    const cms = resourceInfo('', 'v1', 'configmaps');
    const sas = resourceInfo('', 'v1', 'serviceaccounts');
    const deps = resourceInfo('apps', 'v1', 'deployments');
    const roleBindings = resourceInfo('rbac.authorization.k8s.io', 'v1', 'rolebindings');
    const csrs = resourceInfo('certificates.k8s.io', 'v1', 'certificatesigningrequests');
    for (const name of ['default', 'prod', 'gw']) this.put(ns, '', { metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, status: { phase: 'Active' } }, 'ADDED');
    this.put(pods, 'default', { metadata: { name: 'web-1', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] }, status: { phase: 'Running' } }, 'ADDED');
    this.put(pods, 'prod', { metadata: { name: 'api-1', labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'api:1' }] }, status: { phase: 'Running' } }, 'ADDED');
    this.put(pods, 'prod', { metadata: { name: 'worker-1', labels: { app: 'worker' } }, spec: { containers: [{ name: 'worker', image: 'worker:1' }] }, status: { phase: 'Running' } }, 'ADDED');
    this.put(secrets, 'default', {
      metadata: { name: 'db-credentials', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"stringData":{"password":"hunter2-secret"}}' } },
      type: 'Opaque',
      data: { password: Buffer.from('hunter2-secret').toString('base64'), username: Buffer.from('app').toString('base64') },
    }, 'ADDED');
    this.put(cms, 'default', { metadata: { name: 'app-config' }, data: { owner: 'alice@example.com', mode: 'fast' } }, 'ADDED');
    for (const [namespace, name] of [['gw', 'deployer'], ['default', 'reader'], ['gw', 'agent']]) this.put(sas, namespace, { metadata: { name } }, 'ADDED');
    this.put(deps, 'default', { metadata: { name: 'web', labels: { app: 'web' } }, spec: { replicas: 2 } }, 'ADDED');
    this.put(roleBindings, 'default', { metadata: { name: 'readers' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'default' }] }, 'ADDED');
    // A client certificate request for the kube-apiserver-client signer: approved, its signer issues it.
    this.put(csrs, '', { metadata: { name: 'csr-admin' }, spec: { signerName: 'kubernetes.io/kube-apiserver-client', request: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\n(a test double does not sign)\n-----END CERTIFICATE REQUEST-----\n').toString('base64'), usages: ['client auth'], username: 'system:serviceaccount:gw:deployer' } }, 'ADDED');
  }
}
