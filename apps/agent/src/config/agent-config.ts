import { readFileSync } from 'node:fs';
import { RESOURCE_TYPES, resourceDeclarationSchema } from '@gw/contracts';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseHostPort } from './address.js';
import { postgresOptionsShape } from '../protocols/postgres/postgres-config.js';
import { mysqlOptionsShape } from '../protocols/mysql/mysql-config.js';
import { sshOptionsSchema } from '../protocols/ssh/ssh-config.js';
import { kubernetesOptionsSchema } from '../protocols/kubernetes/kubernetes-config.js';
import { mcpOptionsSchema } from '../protocols/mcp/mcp-config.js';
import type { SecretValue } from './secret.js';
import { SecretRefError, resolveSecretRef, type SecretRefContext } from './secret-ref.js';

/** A config file larger than this is refused before parsing (it is a few KiB in practice). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
export const MAX_RESOURCES = 1000;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The config is invalid; the message names the field (`resources[1].address: expected host:port`). */
export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
  constructor(readonly issues: string[]) {
    super(`invalid agent config:\n  ${issues.join('\n  ')}`);
  }
}

function schemaFor(ctx: SecretRefContext) {
  const secretRef = z
    .string()
    .min(1)
    .max(4096)
    .transform((ref, zctx): SecretValue => {
      try {
        return resolveSecretRef(ref, ctx);
      } catch (error) {
        if (!(error instanceof SecretRefError)) throw error;
        zctx.addIssue({ code: 'custom', message: error.message });
        return z.NEVER;
      }
    });

  const httpUrl = z
    .string()
    .max(2048)
    .refine((text) => {
      try {
        const url = new URL(text);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
      } catch {
        return false;
      }
    }, 'expected an http(s) URL without credentials');

  const resource = resourceDeclarationSchema.extend({
    address: z
      .string()
      .max(300)
      .transform((text, zctx) => {
        const parsed = parseHostPort(text);
        if (!parsed) {
          zctx.addIssue({ code: 'custom', message: 'expected host:port' });
          return z.NEVER;
        }
        return parsed;
      })
      .optional(),
    type: z.enum(RESOURCE_TYPES, { error: `expected one of ${RESOURCE_TYPES.join(', ')}` }),
    credentials: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'credential names: letters, digits, _ . -'), secretRef).optional(),
    /** Only for `type: postgres`; see protocols/postgres/postgres-config.ts. */
    postgres: z.strictObject({ ...postgresOptionsShape, maskingKey: secretRef.optional() }).optional(),
    /** Only for `type: mysql`; see protocols/mysql/mysql-config.ts. */
    mysql: z.strictObject({ ...mysqlOptionsShape, maskingKey: secretRef.optional() }).optional(),
    /** Required for `type: ssh`; see protocols/ssh/ssh-config.ts. */
    ssh: sshOptionsSchema.optional(),
    /** Required for `type: kubernetes`; see protocols/kubernetes/kubernetes-config.ts. */
    kubernetes: kubernetesOptionsSchema.optional(),
    /** Required for `type: mcp`; see protocols/mcp/mcp-config.ts. */
    mcp: mcpOptionsSchema(secretRef).optional(),
  })
    // An MCP server is a program or a URL: it has no host:port of its own.
    .superRefine((r, zctx) => {
      if (r.address === undefined && r.type !== 'mcp') zctx.addIssue({ code: 'custom', path: ['address'], message: 'expected host:port' });
    })
    .transform(({ address, ...r }) => ({ ...r, address: address ?? { host: '', port: 0 } }));

  const credentialAuth = z.strictObject({ credential: secretRef });
  const oidcAuth = z.strictObject({
    oidc: z.strictObject({
      tokenUrl: httpUrl,
      clientId: z.string().min(1).max(256),
      clientSecret: secretRef,
      resource: z.string().min(1).max(512).default('api://gateway'),
    }),
    agentName: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, . _ -, at most 63'),
  });
  // Picked by key rather than z.union, so that an error inside the chosen form names its field
  // (a union would only say that neither form matched).
  const auth = z.unknown().transform((value, zctx) => {
    const isObject = typeof value === 'object' && value !== null;
    const schema = isObject && 'credential' in value ? credentialAuth : isObject && ('oidc' in value || 'agentName' in value) ? oidcAuth : undefined;
    if (!schema) {
      zctx.addIssue({ code: 'custom', message: 'expected { credential } or { oidc, agentName }' });
      return z.NEVER;
    }
    const result = schema.safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues) zctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return result.data;
  });

  return z
    .strictObject({
      controlPlane: z.strictObject({
        url: httpUrl,
        /**
         * Keep a tunnel to every replica the control plane lists (any replica then serves any
         * session); how often the list is asked for again.
         */
        allReplicas: z.boolean().default(true),
        replicaRefreshSeconds: z.number().int().min(1).max(3600).default(30),
      }),
      auth,
      resources: z.array(resource).max(MAX_RESOURCES).default([]),
      spoolDir: z.string().min(1).max(1024).default('.data/agent'),
      /** Recording group commit: events of one session written and fsynced together, shipped in batches. */
      recording: z
        .strictObject({
          flushIntervalMs: z.number().int().min(1).max(1000).default(20),
          shipDelayMs: z.number().int().min(0).max(3_600_000).default(100),
          durability: z.enum(['fsync', 'write']).default('write'),
        })
        .default({ flushIntervalMs: 20, shipDelayMs: 100, durability: 'write' }),
      logLevel: z.enum(LOG_LEVELS).default('info'),
    })
    .superRefine((config, zctx) => {
      const seen = new Set<string>();
      config.resources.forEach((r, i) => {
        if (seen.has(r.name)) zctx.addIssue({ code: 'custom', path: ['resources', i, 'name'], message: `duplicate resource name ${r.name}` });
        seen.add(r.name);
        if (r.postgres && r.type !== 'postgres') {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'postgres'], message: 'a postgres block needs type: postgres' });
        }
        if (r.mysql && r.type !== 'mysql') {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'mysql'], message: 'a mysql block needs type: mysql' });
        }
        if (r.ssh && r.type !== 'ssh') {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'ssh'], message: 'an ssh block needs type: ssh' });
        }
        if (r.kubernetes && r.type !== 'kubernetes') {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'kubernetes'], message: 'a kubernetes block needs type: kubernetes' });
        }
        if (r.type === 'kubernetes' && !r.kubernetes) {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'kubernetes'], message: 'a kubernetes resource needs a kubernetes block (caFile and the agent\'s credential)' });
        }
        if (r.mcp && r.type !== 'mcp') {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'mcp'], message: 'an mcp block needs type: mcp' });
        }
        if (r.type === 'mcp' && !r.mcp) {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'mcp'], message: 'an mcp resource needs an mcp block with a command (stdio) or a url (Streamable HTTP)' });
        }
        if (r.type === 'ssh' && !r.ssh) {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'ssh'], message: 'an ssh resource needs an ssh block with the target\'s hostKeys' });
        }
        if (r.type === 'ssh' && r.ssh?.mode === 'fixed' && !r.credentials?.['privateKey']) {
          zctx.addIssue({ code: 'custom', path: ['resources', i, 'credentials', 'privateKey'], message: 'ssh mode fixed needs credentials.privateKey (an OpenSSH private key)' });
        }
      });
    });
}

export type AgentConfig = z.output<ReturnType<typeof schemaFor>>;
export type AgentResource = AgentConfig['resources'][number];
export type AgentAuthConfig = AgentConfig['auth'];

export interface ParseOptions {
  /** Where env: references are looked up (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Validates an already-parsed object (YAML or a test's literal) and resolves every secret reference. */
export function validateAgentConfig(raw: unknown, options: ParseOptions = {}): AgentConfig {
  const result = schemaFor({ env: options.env ?? process.env }).safeParse(raw);
  if (!result.success) {
    throw new AgentConfigError(result.error.issues.map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`));
  }
  return result.data;
}

export function parseAgentConfig(text: string, options: ParseOptions = {}): AgentConfig {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new AgentConfigError([`(root): config larger than ${MAX_CONFIG_BYTES} bytes`]);
  let raw: unknown;
  try {
    // maxAliasCount bounds "billion laughs" expansion.
    raw = parseYaml(text, { maxAliasCount: 100, prettyErrors: true });
  } catch (error) {
    throw new AgentConfigError([`(root): not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  return validateAgentConfig(raw ?? {}, options);
}

export function loadAgentConfig(path: string, options: ParseOptions = {}): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AgentConfigError([`(file): cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`]);
  }
  return parseAgentConfig(text, options);
}
