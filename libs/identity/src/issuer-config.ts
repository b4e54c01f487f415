import { z } from 'zod';
import { parseJsonConfig } from './config-error.js';
import { ClaimRuleSyntaxError, parseClaimRule } from './claim-rules.js';
import { GATEWAY_ROLES } from './principal.js';
import { ISSUER_KINDS, PROCESS_FIELDS } from './process.js';

/** Placeholder for the tenant in an Entra multi-tenant issuer, as Entra's own discovery documents spell it. */
export const TENANT_PLACEHOLDER = '{tenantid}';

export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const MAX_URL_LENGTH = 512;
const MAX_ISSUERS = 50;
const MAX_LIST = 100;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Keys and discovery travel over https; plain http is tolerated only on loopback, where the dev IdP and
 * tests live, because anyone on the path could otherwise swap the signing keys.
 */
export function isAcceptableUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

const urlString = z
  .string()
  .min(1)
  .max(MAX_URL_LENGTH)
  .refine(isAcceptableUrl, 'must be an https URL (http only on 127.0.0.1/localhost), without credentials or fragment');

const issuerString = z
  .string()
  .min(1)
  .max(MAX_URL_LENGTH)
  .refine((value) => value.split(TENANT_PLACEHOLDER).length <= 2, `may contain ${TENANT_PLACEHOLDER} at most once`)
  .refine(
    // A template is checked as the URL it becomes for a concrete tenant.
    (value) => isAcceptableUrl(value.replace(TENANT_PLACEHOLDER, '00000000-0000-0000-0000-000000000000')),
    'must be an https URL (http only on 127.0.0.1/localhost), without credentials or fragment',
  );

const shortString = z.string().min(1).max(MAX_URL_LENGTH);

/** A claim rule (see claim-rules.ts), checked for syntax when the configuration is read. */
const ruleString = z.string().superRefine((value, ctx) => {
  try {
    parseClaimRule(value);
  } catch (error) {
    if (!(error instanceof ClaimRuleSyntaxError)) throw error;
    ctx.addIssue({ code: 'custom', message: `invalid claim rule: ${error.message}` });
  }
});

const claimPath = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a claim name, nested claims by dots').max(128);

const roleRuleSchema = z
  .object({
    /** Claim rule over the token (e.g. `repository == "acme/deploy" && ref == "refs/heads/main"`). */
    when: ruleString,
    /** Gateway roles the token gets when the rule holds. */
    roles: z.array(z.enum(GATEWAY_ROLES)).min(1).max(GATEWAY_ROLES.length),
  })
  .strict();

const attestationRuleSchema = z
  .object({
    /**
     * Which principals may present this issuer's tokens as process attestation, and which tokens:
     * a claim rule over the attestation's claims, its `process.*` and the presenting `principal.*`
     * (`principal.appId == "<entra app id>" && repository == "acme/deploy"`).
     */
    when: ruleString,
  })
  .strict();

export const issuerConfigSchema = z
  .object({
    /** Exact issuer, or an Entra multi-tenant template containing `{tenantid}`. */
    issuer: issuerString,
    /** Accepted `aud` values, matched exactly. */
    audience: z.union([shortString, z.array(shortString).min(1).max(MAX_LIST)]),
    /** Explicit JWKS location; otherwise OIDC discovery of the issuer (or its `organizations` form). */
    jwksUri: urlString.optional(),
    /** Allowed Entra tenant ids (`tid`); required for templates. */
    tenants: z
      .array(z.string().regex(GUID_PATTERN, 'must be a tenant GUID'))
      .min(1)
      .max(MAX_LIST)
      .transform((list) => list.map((tenant) => tenant.toLowerCase()))
      .optional(),
    /** Claims that must be present in every token of this issuer. */
    requiredClaims: z.array(z.string().min(1).max(64)).max(MAX_LIST).optional(),
    /** What platform issues these tokens; decides the `process` record and required claims. Default `entra`. */
    kind: z.enum(ISSUER_KINDS).default('entra'),
    /** Gateway roles by claim rules, besides ROLE_MAPPINGS (which maps `roles` and `groups`). */
    roleRules: z.array(roleRuleSchema).max(MAX_LIST).optional(),
    /** Extra process fields from claims (`{"run_id":"build.id"}`), mainly for `generic` issuers. */
    processClaims: z.partialRecord(z.enum(PROCESS_FIELDS), claimPath).optional(),
    /** Tokens of this issuer are accepted as process attestations only when one of these rules holds. */
    attestationFor: z.array(attestationRuleSchema).min(1).max(MAX_LIST).optional(),
  })
  .strict()
  .refine((entry) => !entry.issuer.includes(TENANT_PLACEHOLDER) || entry.tenants !== undefined, {
    message: `an issuer template with ${TENANT_PLACEHOLDER} needs a "tenants" allow-list (otherwise any Entra tenant could sign in)`,
    path: ['tenants'],
  });

export const issuersConfigSchema = z
  .array(issuerConfigSchema)
  .min(1, 'at least one trusted issuer is needed')
  .max(MAX_ISSUERS)
  .refine((entries) => new Set(entries.map((entry) => entry.issuer)).size === entries.length, 'each issuer may appear only once');

export type IssuerConfig = z.output<typeof issuerConfigSchema>;
export type IssuerConfigInput = z.input<typeof issuerConfigSchema>;

/** Parses `OIDC_ISSUERS` (JSON text or a parsed value); throws IdentityConfigError naming the source. */
export function parseIssuersConfig(input: unknown, source = 'OIDC_ISSUERS'): IssuerConfig[] {
  return parseJsonConfig(issuersConfigSchema, input, source);
}
