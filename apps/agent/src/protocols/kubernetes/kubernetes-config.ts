import { z } from 'zod';

export const KUBERNETES_MODES = ['token-request', 'impersonate'] as const;

/**
 * The `kubernetes:` block of a `type: kubernetes` resource. The resource's `address` is the API
 * server's host:port (always HTTPS).
 * - `caFile`: PEM of the CA that signed the API server's certificate (in-cluster: the service
 *   account's ca.crt when absent). `serverName`: the name to verify in it when `address` is an IP
 *   the certificate does not carry.
 * - `credential`: the agent's own credential: `tokenFile` (re-read for every session, so a rotated
 *   projected token is picked up), `clientCertificateFile` + `clientKeyFile`, or `inCluster: true`
 *   (the pod's service account token and CA).
 * - `mode`: `token-request` (default) asks the API server per session for a token of the service
 *   account that policy maps the principal to (`@k8s_service_account`), expiring with the session;
 *   `impersonate` sends the agent's own credential with `Impersonate-User` (the principal) and
 *   `Impersonate-Group` (`@k8s_groups`). Impersonation is weaker: see apps/agent/README.md.
 * - `recordBodyLimitBytes`: how much of each exec's output the recording keeps.
 */
export const kubernetesOptionsSchema = z
  .strictObject({
    caFile: z.string().min(1).max(1024).optional(),
    serverName: z.string().min(1).max(253).optional(),
    credential: z.union([
      z.strictObject({ tokenFile: z.string().min(1).max(1024) }),
      z.strictObject({ clientCertificateFile: z.string().min(1).max(1024), clientKeyFile: z.string().min(1).max(1024) }),
      z.strictObject({ inCluster: z.literal(true) }),
    ], { error: 'expected credential: { tokenFile }, { clientCertificateFile, clientKeyFile } or { inCluster: true }' }),
    mode: z.enum(KUBERNETES_MODES).default('token-request'),
    recordOutputLimitBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(32 * 1024 * 1024),
  })
  .refine((o) => o.caFile !== undefined || 'inCluster' in o.credential, { message: 'name the API server\'s CA: caFile (or use credential inCluster)', path: ['caFile'] });
export type KubernetesOptions = z.output<typeof kubernetesOptionsSchema>;

/** Where a pod finds its service account (Kubernetes mounts these in every pod that has one). */
export const IN_CLUSTER = {
  tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
} as const;
