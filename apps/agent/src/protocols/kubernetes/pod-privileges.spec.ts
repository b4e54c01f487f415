import { describe, expect, it } from 'vitest';
import { podPrivileges } from './pod-privileges.js';
import { requestAttributes } from './request-attributes.js';
import { readRequestBody } from './request-body.js';
import { alsoDecidedAs } from './request-policy.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const privilegedOf = (method: string, path: string, body: Buffer, contentType = 'application/json') =>
  alsoDecidedAs(method, contentType, requestAttributes(method, path), readRequestBody(body, contentType)).filter((a) => a.action === 'k8s:run_privileged');

describe('pod specs that reach the node (Pod Security Standards baseline)', () => {
  it('names what a pod spec asks for, at any depth and in each shape that carries one', () => {
    expect(podPrivileges({ spec: { hostNetwork: true, hostPID: true, hostIPC: false, containers: [{ name: 'a', image: 'x' }] } })).toEqual(['hostNetwork', 'hostPID']);
    const deployment = {
      spec: { template: { spec: {
        volumes: [{ name: 'root', hostPath: { path: '/' } }],
        containers: [{ name: 'a', securityContext: { privileged: true, capabilities: { add: ['NET_BIND_SERVICE', 'SYS_ADMIN', 'CAP_NET_RAW'] } }, ports: [{ containerPort: 80, hostPort: 8080 }] }],
      } } },
    };
    expect(podPrivileges(deployment)).toEqual(['a hostPath volume', 'a privileged container', 'the capability SYS_ADMIN', 'the capability CAP_NET_RAW', 'hostPort 8080']);
    const cronJob = { spec: { jobTemplate: { spec: { template: { spec: { securityContext: { seccompProfile: { type: 'Unconfined' }, sysctls: [{ name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'kernel.msgmax', value: '1' }] } } } } } } };
    expect(podPrivileges(cronJob)).toEqual(['an unconfined seccomp profile', 'the sysctl kernel.msgmax']);
    expect(podPrivileges({ spec: { containers: [{ securityContext: { procMount: 'Unmasked', seLinuxOptions: { type: 'spc_t' }, appArmorProfile: { type: 'Unconfined' }, windowsOptions: { hostProcess: true } } }] } }))
      .toEqual(['an unmasked /proc', 'custom SELinux options', 'an unconfined AppArmor profile', 'a Windows host process']);
    expect(podPrivileges({ metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/a': 'unconfined' } } })).toEqual(['an unconfined profile (container.apparmor.security.beta.kubernetes.io/a)']);
    // YAML's maps (the API server's YAML 1.1: `yes` is true) read the same.
    expect(podPrivileges(new Map([['spec', new Map([['hostPID', true]])]]))).toEqual(['hostPID']);
  });

  it('a pod spec within the baseline asks for nothing', () => {
    const plain = {
      spec: {
        hostNetwork: false, securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, seLinuxOptions: { type: 'container_t' }, sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }] },
        volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', configMap: { name: 'c' } }],
        containers: [{ name: 'a', image: 'nginx', ports: [{ containerPort: 80 }], securityContext: { privileged: false, allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } } }],
      },
    };
    expect(podPrivileges(plain)).toEqual([]);
    // Text is not a boolean: the API server refuses it rather than running the pod so.
    expect(podPrivileges({ spec: { hostNetwork: 'true' } })).toEqual([]);
  });

  it('field names match in any case (an API server decoding like Go\'s encoding/json would take them)', () => {
    expect(podPrivileges({ spec: { HostNetwork: true, containers: [{ SecurityContext: { Privileged: true, Capabilities: { Add: ['SYS_ADMIN'] } } }] } }))
      .toEqual(['hostNetwork', 'a privileged container', 'the capability SYS_ADMIN']);
  });

  it('writes of workload kinds are decided as k8s:run_privileged too: JSON, YAML, merge, strategic and JSON patches, server-side apply', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { hostPID: true, containers: [{ name: 'a', image: 'x' }] } };
    const [created] = privilegedOf('POST', '/api/v1/namespaces/default/pods', json(pod));
    expect(created?.why).toBe('the pod spec asks for hostPID, which reaches the node');
    expect(privilegedOf('POST', '/apis/apps/v1/namespaces/default/deployments', Buffer.from('spec:\n  template:\n    spec:\n      hostNetwork: yes\n'), 'application/yaml')).toHaveLength(1);
    expect(privilegedOf('PUT', '/apis/batch/v1/namespaces/default/jobs/j', json({ spec: { template: { spec: { volumes: [{ hostPath: { path: '/var/run/docker.sock' } }] } } } }))).toHaveLength(1);
    expect(privilegedOf('PATCH', '/apis/apps/v1/namespaces/default/daemonsets/d', json({ spec: { template: { spec: { containers: [{ name: 'a', securityContext: { privileged: true } }] } } } }), 'application/strategic-merge-patch+json')).toHaveLength(1);
    expect(privilegedOf('PATCH', '/apis/apps/v1/namespaces/default/statefulsets/s', json({ spec: { template: { spec: { hostIPC: true } } } }), 'application/merge-patch+json')).toHaveLength(1);
    expect(privilegedOf('PATCH', '/apis/apps/v1/namespaces/default/deployments/web', Buffer.from('apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      hostNetwork: true\n'), 'application/apply-patch+yaml')).toHaveLength(1);
    // JSON patch: the value is read where its path puts it.
    const patch = (ops: unknown) => privilegedOf('PATCH', '/apis/apps/v1/namespaces/default/deployments/web', json(ops), 'application/json-patch+json');
    expect(patch([{ op: 'add', path: '/spec/template/spec/hostPID', value: true }])).toHaveLength(1);
    expect(patch([{ op: 'add', path: '/spec/template/spec/containers/0/securityContext/capabilities/add/-', value: 'SYS_PTRACE' }])[0]?.why).toContain('the capability SYS_PTRACE');
    expect(patch([{ op: 'replace', path: '/spec/template/spec/containers/0/securityContext', value: { privileged: true } }])).toHaveLength(1);
    expect(patch([{ op: 'copy', from: '/spec/template/spec/initContainers/0', path: '/spec/template/spec/containers/1' }])[0]?.why).toContain('JSON patch "copy"');
    expect(patch([{ op: 'replace', path: '/spec/replicas', value: 3 }, { op: 'add', path: '/spec/template/spec/hostPID', value: false }])).toEqual([]);
    // kubectl debug: an ephemeral container of the sysadmin profile.
    expect(privilegedOf('PATCH', '/api/v1/namespaces/default/pods/web-1/ephemeralcontainers', json({ spec: { ephemeralContainers: [{ name: 'debugger', securityContext: { privileged: true } }] } }), 'application/strategic-merge-patch+json')).toHaveLength(1);
    // A body the gateway cannot read is decided so too.
    expect(privilegedOf('POST', '/api/v1/namespaces/default/pods', Buffer.from('k8s\u0000'), 'application/vnd.kubernetes.protobuf')[0]?.why).toContain('the pod spec cannot be read from the body');
  });

  it('the same names in objects that are not workloads, and writes that carry no pod spec, are not decided so', () => {
    expect(privilegedOf('POST', '/api/v1/namespaces/default/configmaps', json({ data: { hostPath: '/', privileged: 'true' } }))).toEqual([]);
    expect(privilegedOf('POST', '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies', json({ spec: { privileged: true, hostNetwork: true } }))).toEqual([]);
    expect(privilegedOf('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', json({ spec: { replicas: 2 } }), 'application/merge-patch+json')).toEqual([]);
    expect(privilegedOf('DELETE', '/api/v1/namespaces/default/pods/web-1', json({ spec: { hostPID: true } }))).toEqual([]);
    expect(privilegedOf('POST', '/api/v1/namespaces/default/pods', json({ spec: { containers: [{ name: 'a', image: 'nginx' }] } }))).toEqual([]);
  });

  it('writes of custom resources are searched as a workload\'s (an operator makes pods from them), but not their status', () => {
    // Argo Workflows: a container inside a template list.
    const workflow = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', spec: { templates: [{ name: 'main', container: { image: 'x', securityContext: { privileged: true } } }] } };
    expect(privilegedOf('POST', '/apis/argoproj.io/v1alpha1/namespaces/default/workflows', json(workflow))[0]?.why).toContain('a privileged container');
    // The Prometheus operator: pod fields straight in the spec.
    expect(privilegedOf('PATCH', '/apis/monitoring.coreos.com/v1/namespaces/mon/prometheuses/k8s', json({ spec: { hostNetwork: true } }), 'application/merge-patch+json')[0]?.why).toContain('hostNetwork');
    // Knative: a pod template, changed by a JSON patch.
    const volume = [{ op: 'add', path: '/spec/template/spec/volumes/-', value: { name: 'root', hostPath: { path: '/' } } }];
    expect(privilegedOf('PATCH', '/apis/serving.knative.dev/v1/namespaces/default/services/s', json(volume), 'application/json-patch+json')).toHaveLength(1);
    // Cluster-scoped, a body that cannot be read.
    expect(privilegedOf('POST', '/apis/example.com/v1/widgets', Buffer.from('{not json'))[0]?.why).toContain('cannot be read');
    // A ControllerRevision holds a pod template that a rollback puts back.
    expect(privilegedOf('POST', '/apis/apps/v1/namespaces/default/controllerrevisions', json({ data: { spec: { template: { spec: { hostPID: true } } } }, revision: 2 }))).toHaveLength(1);
    // Within the baseline, a status or scale subresource, Kubernetes' own groups: nothing.
    expect(privilegedOf('POST', '/apis/argoproj.io/v1alpha1/namespaces/default/workflows', json({ spec: { templates: [{ name: 'main', container: { image: 'x' } }] } }))).toEqual([]);
    expect(privilegedOf('PUT', '/apis/example.com/v1/namespaces/default/widgets/w/status', json({ status: { hostPID: true } }))).toEqual([]);
    expect(privilegedOf('PATCH', '/apis/example.com/v1/namespaces/default/widgets/w/scale', json({ spec: { hostPID: true } }), 'application/merge-patch+json')).toEqual([]);
    expect(privilegedOf('POST', '/apis/snapshot.storage.k8s.io/v1/namespaces/default/volumesnapshots', json({ spec: { hostPath: '/' } }))).toEqual([]);
  });
});
