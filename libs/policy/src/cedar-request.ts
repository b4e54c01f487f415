import type { Context, EntityJson, TypeAndId } from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicyInput } from './input.js';
import { PROCESS_FIELDS } from '@gw/identity';
import { ACTION_TYPE, GROUP_TYPE, PRINCIPAL_TYPE, RESOURCE_TYPE } from './schema.js';

/** Sorted, so equal records serialise identically. */
const PROCESS_RECORD_KEYS = ['platform', 'issuer', 'subject', 'source', 'token_id', ...PROCESS_FIELDS].sort();

/** Everything Cedar sees for one request. Its JSON form is the decision cache key. */
export interface CedarRequest {
  principal: TypeAndId;
  action: TypeAndId;
  resource: TypeAndId;
  context: Context;
  entities: EntityJson[];
}

/**
 * Maps a gateway request onto the Cedar model. The output is built in a fixed order with sets and
 * labels sorted, so two inputs that mean the same thing produce byte-identical JSON (the cache key).
 * Only fields listed here reach Cedar; anything else on the input cannot influence a decision.
 */
export function buildCedarRequest(input: PolicyInput, hourNow: number): CedarRequest {
  const { principal, resource } = input;
  const ctx = input.context ?? {};
  const principalUid: TypeAndId = { type: PRINCIPAL_TYPE, id: principal.id };
  const resourceUid: TypeAndId = { type: RESOURCE_TYPE, id: resource.name };

  const principalAttrs: Record<string, string | string[] | Record<string, string>> = { kind: principal.kind, issuer: principal.issuer };
  if (principal.tenantId !== undefined) principalAttrs.tenantId = principal.tenantId;
  if (principal.appId !== undefined) principalAttrs.appId = principal.appId;
  if (principal.displayName !== undefined) principalAttrs.displayName = principal.displayName;
  principalAttrs.roles = sortedSet(principal.roles);
  principalAttrs.gatewayRoles = sortedSet(principal.gatewayRoles);
  if (principal.process !== undefined) principalAttrs.process = processRecord(principal.process);

  const labels = resource.labels ?? {};
  const tags: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key];
    if (value !== undefined) tags[key] = value;
  }

  const context: Context = {
    sourceIp: ctx.sourceIp ?? '',
    hasGrant: ctx.hasGrant ?? false,
    hour: ctx.hour ?? hourNow,
  };
  if (ctx.statementKind !== undefined) context.statementKind = ctx.statementKind;
  if (ctx.tables !== undefined) context.tables = sortedSet(ctx.tables);
  if (ctx.tablesWritten !== undefined) context.tablesWritten = sortedSet(ctx.tablesWritten);
  if (ctx.functions !== undefined) context.functions = sortedSet(ctx.functions);
  if (ctx.readOnly !== undefined) context.readOnly = ctx.readOnly;
  if (ctx.dbRole !== undefined) context.dbRole = ctx.dbRole;
  if (ctx.login !== undefined) context.login = ctx.login;
  if (ctx.command !== undefined) context.command = ctx.command;
  if (ctx.programs !== undefined) context.programs = sortedSet(ctx.programs);
  if (ctx.programPaths !== undefined) context.programPaths = sortedSet(ctx.programPaths);
  if (ctx.flags !== undefined) context.flags = sortedSet(ctx.flags);
  if (ctx.writesFiles !== undefined) context.writesFiles = sortedSet(ctx.writesFiles);
  if (ctx.dynamicArgs !== undefined) context.dynamicArgs = sortedSet(ctx.dynamicArgs);
  if (ctx.opaque !== undefined) context.opaque = ctx.opaque;
  if (ctx.interpreter !== undefined) context.interpreter = ctx.interpreter;
  if (ctx.shell !== undefined) context.shell = ctx.shell;
  if (ctx.pty !== undefined) context.pty = ctx.pty;
  if (ctx.host !== undefined) context.host = ctx.host;
  if (ctx.port !== undefined) context.port = ctx.port;
  if (ctx.namespace !== undefined) context.namespace = ctx.namespace;
  if (ctx.kind !== undefined) context.kind = ctx.kind;
  if (ctx.name !== undefined) context.name = ctx.name;
  if (ctx.via !== undefined) context.via = ctx.via;
  if (ctx.tool !== undefined) context.tool = ctx.tool;
  if (ctx.apiGroup !== undefined) context.apiGroup = ctx.apiGroup;
  if (ctx.apiVersion !== undefined) context.apiVersion = ctx.apiVersion;
  if (ctx.apiResource !== undefined) context.apiResource = ctx.apiResource;
  if (ctx.subresource !== undefined) context.subresource = ctx.subresource;
  if (ctx.path !== undefined) context.path = ctx.path;
  if (ctx.nonResource !== undefined) context.nonResource = ctx.nonResource;
  if (ctx.objectLabels !== undefined) context.objectLabels = sortedSet(ctx.objectLabels);
  if (ctx.container !== undefined) context.container = ctx.container;
  if (ctx.toolReadOnly !== undefined) context.toolReadOnly = ctx.toolReadOnly;
  if (ctx.toolDestructive !== undefined) context.toolDestructive = ctx.toolDestructive;
  if (ctx.arguments !== undefined) context.arguments = ctx.arguments;
  if (ctx.argumentNames !== undefined) context.argumentNames = sortedSet(ctx.argumentNames);
  if (ctx.uri !== undefined) context.uri = ctx.uri;
  if (ctx.prompt !== undefined) context.prompt = ctx.prompt;

  return {
    principal: principalUid,
    action: { type: ACTION_TYPE, id: input.action },
    resource: resourceUid,
    context,
    entities: [
      {
        uid: principalUid,
        attrs: principalAttrs,
        parents: sortedSet(principal.groups).map((id) => ({ type: GROUP_TYPE, id })),
      },
      {
        uid: resourceUid,
        attrs: { type: resource.type, name: resource.name, environment: resource.environment ?? '' },
        parents: [],
        tags,
      },
    ],
  };
}

/** The process record with only the fields the schema declares, keys sorted (part of the cache key). */
function processRecord(process: NonNullable<PolicyInput['principal']['process']>): Record<string, string> {
  const out: Record<string, string> = {};
  const source = process as Record<string, unknown>;
  for (const key of PROCESS_RECORD_KEYS) {
    const value = source[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}

function sortedSet(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
