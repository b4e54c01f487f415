/*
 * What a pod spec can ask for that reaches past its own container, to the node it runs on: the
 * node's namespaces, its files, its ports, or kernel privileges. These are the controls of the
 * Kubernetes Pod Security Standards' "baseline" profile. A workload allowed to create pods (or
 * anything that makes pods) can otherwise ask for a privileged container with the host's root
 * filesystem mounted, which is the node and every secret on it, whatever else policy forbids.
 *
 * The body is searched as a whole, at any depth, for these fields: a Pod (`spec`), a Deployment
 * (`spec.template.spec`), a CronJob (`spec.jobTemplate.spec.template.spec`), a merge patch, a
 * strategic merge patch or an apply configuration all carry them under their own names. The search is
 * meant for the bodies of writes to workload kinds only (see request-policy.ts): in other objects
 * these names mean nothing.
 */

import { entriesOf } from './parsed-body.js';

/** Capabilities the baseline profile allows a container to add (the container runtime's defaults). */
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);

/** Sysctls the baseline profile allows (namespaced to the pod). */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

/** SELinux types the baseline profile allows. */
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** Annotations that set seccomp or AppArmor profiles in older clusters. */
const PROFILE_ANNOTATIONS = [/^seccomp\.security\.alpha\.kubernetes\.io\//, /^container\.apparmor\.security\.beta\.kubernetes\.io\//];

/** Deeper than this, the body is not searched further and counts as asking for everything. */
const MAX_DEPTH = 100;

function fieldOf(value: unknown, name: string): unknown {
  const lower = name.toLowerCase();
  return entriesOf(value)?.find(([key]) => typeof key === 'string' && key.toLowerCase() === lower)?.[1];
}

function namesIn(list: unknown): string[] {
  return Array.isArray(list) ? list.map((item) => (typeof item === 'string' ? item : JSON.stringify(item) ?? String(item))) : [];
}

/** Field names as the checks below spell them, by their lower case. */
const FIELDS = new Map(['hostNetwork', 'hostPID', 'hostIPC', 'privileged', 'hostPath', 'hostPort', 'procMount', 'capabilities', 'seccompProfile', 'appArmorProfile', 'seLinuxOptions', 'sysctls', 'windowsOptions'].map((f) => [f.toLowerCase(), f]));

/**
 * What one key and its value ask for (empty when nothing beyond the baseline). Field names match
 * in any case: the API server's decoder is case-sensitive today, but Go's standard one, which older
 * API servers used, took `HostNetwork` for `hostNetwork`; asking too much here only refuses a body
 * no client sends.
 */
function askedBy(rawKey: string, value: unknown): string[] {
  const key = FIELDS.get(rawKey.toLowerCase()) ?? rawKey;
  switch (key) {
    case 'hostNetwork':
    case 'hostPID':
    case 'hostIPC':
      return value === true ? [key] : [];
    case 'privileged':
      return value === true ? ['a privileged container'] : [];
    case 'hostPath':
      return value === null || value === undefined ? [] : ['a hostPath volume'];
    case 'hostPort':
      return value === null || value === undefined || value === 0 ? [] : [`hostPort ${(JSON.stringify(value) ?? '').slice(0, 20)}`];
    case 'procMount':
      return value === 'Unmasked' ? ['an unmasked /proc'] : [];
    case 'capabilities':
      return namesIn(fieldOf(value, 'add')).filter((c) => !BASELINE_CAPABILITIES.has(c.replace(/^CAP_/, ''))).map((c) => `the capability ${c.slice(0, 40)}`);
    case 'seccompProfile':
    case 'appArmorProfile':
      return fieldOf(value, 'type') === 'Unconfined' ? [`an unconfined ${key === 'seccompProfile' ? 'seccomp' : 'AppArmor'} profile`] : [];
    case 'seLinuxOptions': {
      const type = fieldOf(value, 'type');
      const custom = (typeof type === 'string' && !SELINUX_TYPES.has(type)) || (type !== undefined && type !== null && typeof type !== 'string')
        || ['user', 'role'].some((name) => { const v = fieldOf(value, name); return v !== undefined && v !== null && v !== ''; });
      return custom ? ['custom SELinux options'] : [];
    }
    case 'sysctls':
      return Array.isArray(value)
        ? value.map((s) => fieldOf(s, 'name')).filter((name) => typeof name !== 'string' || !SAFE_SYSCTLS.has(name)).map((name) => `the sysctl ${String(name).slice(0, 60)}`)
        : [];
    case 'windowsOptions':
      return fieldOf(value, 'hostProcess') === true ? ['a Windows host process'] : [];
    default:
      return PROFILE_ANNOTATIONS.some((re) => re.test(key)) && typeof value === 'string' && /^unconfined$/i.test(value) ? [`an unconfined profile (${key.slice(0, 80)})`] : [];
  }
}

/** Everything in `value` (a parsed body, at any depth) that the baseline profile forbids, each named once. */
export function podPrivileges(value: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) {
      found.add('a body nested too deeply to read');
      return;
    }
    if (Array.isArray(node)) {
      for (const item of node) visit(item, depth + 1);
      return;
    }
    const entries = entriesOf(node);
    if (!entries) return;
    for (const [key, child] of entries) {
      if (typeof key === 'string') for (const what of askedBy(key, child)) found.add(what);
      visit(child, depth + 1);
    }
  };
  visit(value, 0);
  return [...found];
}
