import { ISSUER_KINDS, type Principal } from '@gw/identity';
import { z } from 'zod';
import { GATEWAY_ACTIONS, RESOURCE_TYPES, type GatewayAction, type ResourceType } from './actions.js';

/** Hard limits on what a request may carry into the evaluator. */
export const INPUT_LIMITS = {
  string: 1024,
  command: 16 * 1024,
  setItems: 512,
  labels: 64,
  labelKey: 63,
  labelValue: 256,
} as const;

export interface PolicyContext {
  /** Client address as the gateway saw it. Default: "" (unknown). */
  sourceIp?: string;
  /** Whether an active JIT grant covers this request. Default: false. */
  hasGrant?: boolean;
  /** Hour of day 0-23, UTC. Default: taken from the engine's clock at evaluation time. */
  hour?: number;
  // SQL statements
  statementKind?: string;
  tables?: string[];
  tablesWritten?: string[];
  functions?: string[];
  readOnly?: boolean;
  dbRole?: string;
  // connect
  login?: string;
  // ssh:exec (and ssh:shell when the command is a shell): the whole text, and what it runs
  command?: string;
  /** Basenames of every program the command runs (`@gw/shell-command`). */
  programs?: string[];
  /** Programs named by a path, as written. */
  programPaths?: string[];
  /** Options as `<program>:<option>` (`rm:-r`, `rm:--recursive`). */
  flags?: string[];
  /** Files written by redirections, tee and dd (`?`: computed at run time). */
  writesFiles?: string[];
  /** Programs with arguments computed at run time. */
  dynamicArgs?: string[];
  /** Some part cannot be known from the text (parse failure, computed program, inline code ...). */
  opaque?: boolean;
  /** An interpreter runs a script or code. */
  interpreter?: boolean;
  /** An interpreter reads its program from the session's stdin or terminal. */
  shell?: boolean;
  /** ssh:exec / ssh:shell: the channel asked for a terminal (`ssh -t`), whose output is masked only in the recording. */
  pty?: boolean;
  // ssh:forward
  host?: string;
  port?: number;
  // k8s
  namespace?: string;
  kind?: string;
  name?: string;
  /** How the request reached the gateway when not a protocol's own client: `mcp` for MCP tool calls. */
  via?: string;
  /** The MCP tool of the call (`postgres_query`, `ssh_exec` ...), with `via: "mcp"`. */
  tool?: string;
  /** Kubernetes request attributes, as the API server derives them (`apiGroup` "" is the core group). */
  apiGroup?: string;
  apiVersion?: string;
  /** The resource (plural, `pods`, `deployments`). */
  apiResource?: string;
  subresource?: string;
  /** The URL path of a non-resource request (`/version`, `/apis`). */
  path?: string;
  nonResource?: boolean;
  /** Labels of the object in the request body, as `key=value` (where the body is known). */
  objectLabels?: string[];
  /** Container of an exec or attach. */
  container?: string;
  // MCP servers behind the gateway (mcp:call_tool with `tool`; mcp:read_resource; mcp:get_prompt)
  /** The tool's `readOnlyHint` / `destructiveHint` annotations, as its (pinned) definition declares them. */
  toolReadOnly?: boolean;
  toolDestructive?: boolean;
  /** The call's arguments as JSON text (for `like`), and their names. */
  arguments?: string;
  argumentNames?: string[];
  /** resources/read: the resource's URI. */
  uri?: string;
  /** prompts/get: the prompt's name. */
  prompt?: string;
}

export interface PolicyResource {
  name: string;
  type: ResourceType;
  /** Default: "" (unknown). */
  environment?: string;
  labels?: Record<string, string>;
}

export interface PolicyInput {
  principal: Principal;
  action: GatewayAction;
  resource: PolicyResource;
  context?: PolicyContext;
}

const str = z.string().max(INPUT_LIMITS.string);
const stringSet = z.array(str).max(INPUT_LIMITS.setItems);

const principalSchema = z.object({
  id: str.min(1),
  kind: z.enum(['human', 'workload']),
  issuer: str,
  tenantId: str.optional(),
  subject: str,
  objectId: str.optional(),
  appId: str.optional(),
  displayName: str.optional(),
  roles: stringSet,
  groups: stringSet,
  gatewayRoles: stringSet,
  tokenId: str.optional(),
  expiresAt: z.number().optional(),
  process: z
    .object({ platform: z.enum(ISSUER_KINDS), issuer: str, subject: str, source: z.enum(['token', 'attestation']) })
    .catchall(str)
    .optional(),
});

const labelKey = z
  .string()
  .min(1)
  .max(INPUT_LIMITS.labelKey)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'label keys are letters, digits, . _ / -');

/**
 * Runtime check of a {@link PolicyInput}: the API's dry-run endpoint validates request bodies with it,
 * and the engine applies it to every input it has not evaluated before.
 */
export const policyInputSchema = z.object({
  principal: principalSchema,
  action: z.enum(GATEWAY_ACTIONS),
  resource: z.object({
    name: str.min(1),
    type: z.enum(RESOURCE_TYPES),
    environment: str.optional(),
    labels: z
      .record(labelKey, z.string().max(INPUT_LIMITS.labelValue))
      .refine((labels) => Object.keys(labels).length <= INPUT_LIMITS.labels, {
        message: `at most ${INPUT_LIMITS.labels} labels`,
      })
      .optional(),
  }),
  context: z
    .strictObject({
      sourceIp: str.optional(),
      hasGrant: z.boolean().optional(),
      hour: z.number().int().min(0).max(23).optional(),
      statementKind: str.optional(),
      tables: stringSet.optional(),
      tablesWritten: stringSet.optional(),
      functions: stringSet.optional(),
      readOnly: z.boolean().optional(),
      dbRole: str.optional(),
      login: str.optional(),
      command: z.string().max(INPUT_LIMITS.command).optional(),
      programs: stringSet.optional(),
      programPaths: stringSet.optional(),
      flags: stringSet.optional(),
      writesFiles: stringSet.optional(),
      dynamicArgs: stringSet.optional(),
      opaque: z.boolean().optional(),
      interpreter: z.boolean().optional(),
      shell: z.boolean().optional(),
      pty: z.boolean().optional(),
      host: str.optional(),
      port: z.number().int().min(0).max(65_535).optional(),
      namespace: str.optional(),
      kind: str.optional(),
      name: str.optional(),
      via: str.optional(),
      tool: str.optional(),
      apiGroup: str.optional(),
      apiVersion: str.optional(),
      apiResource: str.optional(),
      subresource: str.optional(),
      path: str.optional(),
      nonResource: z.boolean().optional(),
      objectLabels: stringSet.optional(),
      container: str.optional(),
      toolReadOnly: z.boolean().optional(),
      toolDestructive: z.boolean().optional(),
      arguments: z.string().max(INPUT_LIMITS.command).optional(),
      argumentNames: stringSet.optional(),
      uri: z.string().max(INPUT_LIMITS.command).optional(),
      prompt: str.optional(),
    })
    .optional(),
});

/** Short, bounded description of why an input was refused. */
export function describeInputProblem(input: unknown): string | undefined {
  const result = policyInputSchema.safeParse(input);
  if (result.success) return undefined;
  return result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`)
    .join('; ');
}
