/**
 * The action vocabulary of the gateway. These ids are a contract with the agent, the control plane and
 * every stored policy: renaming one silently turns its policies into dead text, so only ever add.
 */
export const GATEWAY_ACTIONS = [
  'connect',
  'request_access',
  'sql:select',
  'sql:insert',
  'sql:update',
  'sql:delete',
  'sql:ddl',
  'sql:admin',
  'sql:session',
  'sql:procedural',
  'ssh:shell',
  'ssh:exec',
  'ssh:sftp',
  'ssh:forward',
  'k8s:get',
  'k8s:list',
  'k8s:watch',
  'k8s:create',
  'k8s:update',
  'k8s:patch',
  'k8s:delete',
  'k8s:exec',
  'k8s:portforward',
  'k8s:deletecollection',
  'k8s:attach',
  'k8s:proxy',
  // Mints a credential that works without the gateway (TokenRequest, approving or signing a CSR, a
  // service account token Secret); outside `k8s:write`, like exec.
  'k8s:issue_credential',
  // Writes a pod spec that reaches the node (host namespaces, hostPath, privileged containers, added
  // capabilities ...: beyond the Pod Security Standards' baseline); outside `k8s:write`, like exec.
  'k8s:run_privileged',
  'mcp:call_tool',
  'mcp:read_resource',
  'mcp:get_prompt',
  // Requests an MCP server makes of the client; in no group, so `action in "mcp"` never allows them.
  'mcp:sampling',
  'mcp:elicitation',
  'mcp:roots',
] as const;
export type GatewayAction = (typeof GATEWAY_ACTIONS)[number];

/**
 * Action groups: policies write `action in Gateway::Action::"sql:write"`. Groups cannot be requested
 * themselves (they have no `appliesTo` in the schema), only matched.
 */
export const ACTION_GROUPS = {
  sql: [
    'sql:select',
    'sql:insert',
    'sql:update',
    'sql:delete',
    'sql:ddl',
    'sql:admin',
    'sql:session',
    'sql:procedural',
  ],
  'sql:read': ['sql:select', 'sql:session'],
  'sql:write': ['sql:insert', 'sql:update', 'sql:delete'],
  ssh: ['ssh:shell', 'ssh:exec', 'ssh:sftp', 'ssh:forward'],
  k8s: [
    'k8s:get',
    'k8s:list',
    'k8s:watch',
    'k8s:create',
    'k8s:update',
    'k8s:patch',
    'k8s:delete',
    'k8s:deletecollection',
    'k8s:exec',
    'k8s:attach',
    'k8s:portforward',
    'k8s:proxy',
    'k8s:issue_credential',
    'k8s:run_privileged',
  ],
  'k8s:read': ['k8s:get', 'k8s:list', 'k8s:watch'],
  'k8s:write': ['k8s:create', 'k8s:update', 'k8s:patch', 'k8s:delete', 'k8s:deletecollection'],
  mcp: ['mcp:call_tool', 'mcp:read_resource', 'mcp:get_prompt'],
} as const satisfies Record<string, readonly GatewayAction[]>;
export type ActionGroup = keyof typeof ACTION_GROUPS;

export const RESOURCE_TYPES = ['postgres', 'mysql', 'ssh', 'kubernetes', 'tcp', 'mcp'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

const ACTION_SET: ReadonlySet<string> = new Set(GATEWAY_ACTIONS);
export function isGatewayAction(value: unknown): value is GatewayAction {
  return typeof value === 'string' && ACTION_SET.has(value);
}
