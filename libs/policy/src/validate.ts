import { parseAnnotations } from './annotations.js';
import { cedar, formatCedarError } from './cedar.js';
import type { PolicyInfo, PolicySetError } from './policy-info.js';
import { CEDAR_SCHEMA } from './schema.js';

export const MAX_POLICY_TEXT_BYTES = 512 * 1024;
export const MAX_POLICIES = 1000;

export type PolicySetValidation =
  | { ok: true; policies: PolicyInfo[]; warnings: PolicySetError[] }
  | { ok: false; errors: PolicySetError[] };

/** A validated set plus the per-id policy texts the engine hands to Cedar. */
export type AnalysedPolicySet =
  | {
    ok: true;
    policies: PolicyInfo[];
    warnings: PolicySetError[];
    cedarPolicies: Record<string, string>;
    /** Each policy's `when`/`unless` conditions in Cedar's JSON form (what they can read). */
    conditionsJson: string[];
  }
  | { ok: false; errors: PolicySetError[] };

/**
 * Validation on write: Cedar's parser, Cedar's strict schema validator, and the annotation rules.
 * Returns every problem found (not only the first) so an editor can show them all at once.
 */
export function validatePolicySet(text: string): PolicySetValidation {
  const result = analysePolicySet(text);
  return result.ok ? { ok: true, policies: result.policies, warnings: result.warnings } : result;
}

interface LocatedPolicy {
  text: string;
  byteOffset: number;
  line: number;
}

export function analysePolicySet(text: string): AnalysedPolicySet {
  if (typeof text !== 'string') return fail('policy text must be a string');
  const byteLength = Buffer.byteLength(text, 'utf8');
  if (byteLength > MAX_POLICY_TEXT_BYTES) {
    return fail(`policy text is ${byteLength} bytes; the limit is ${MAX_POLICY_TEXT_BYTES}`);
  }
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') {
    return { ok: false, errors: parts.errors.map((e) => ({ message: `syntax error at ${formatCedarError(e, text)}` })) };
  }
  if (parts.policy_templates.length > 0) {
    return fail('policy templates (?principal / ?resource slots) are not supported; write static policies');
  }
  if (parts.policies.length > MAX_POLICIES) {
    return fail(`the set has ${parts.policies.length} policies; the limit is ${MAX_POLICIES}`);
  }

  const errors: PolicySetError[] = [];
  const located = locate(text, parts.policies);
  const infos: PolicyInfo[] = [];
  const cedarPolicies: Record<string, string> = {};
  const conditionsJson: string[] = [];
  const keyToPolicy = new Map<string, { id?: string; located: LocatedPolicy }>();
  const seen = new Map<string, number>();

  located.forEach((policy, index) => {
    const key = `#${index}`;
    const json = cedar.policyToJson(policy.text);
    if (json.type !== 'success') {
      errors.push({ message: `policy at line ${policy.line}: ${json.errors.map((e) => e.message).join('; ')}` });
      return;
    }
    const annotations = json.json.annotations ?? {};
    conditionsJson.push(JSON.stringify(json.json.conditions));
    const rawId = annotations.id;
    const parsed = parseAnnotations(json.json.effect, annotations);
    const label = rawId !== undefined ? `policy "${rawId}" (line ${policy.line})` : `policy at line ${policy.line}`;
    for (const message of parsed.errors) {
      errors.push({ ...(rawId !== undefined ? { policyId: rawId } : {}), message: `${label}: ${message}` });
    }
    let cedarKey = key;
    if (rawId !== undefined) {
      const firstLine = seen.get(rawId);
      if (firstLine !== undefined) {
        errors.push({ policyId: rawId, message: `${label}: duplicate @id, already used at line ${firstLine}` });
      } else {
        seen.set(rawId, policy.line);
        // Policies are keyed by their @id so Cedar reports determining policies by the names authors chose.
        cedarKey = rawId;
      }
    }
    cedarPolicies[cedarKey] = policy.text;
    keyToPolicy.set(cedarKey, { ...(rawId !== undefined ? { id: rawId } : {}), located: policy });
    if (parsed.info) infos.push({ ...parsed.info, line: policy.line });
  });

  const warnings: PolicySetError[] = [];
  const validation = cedar.validate({
    schema: CEDAR_SCHEMA,
    policies: { staticPolicies: cedarPolicies },
    validationSettings: { mode: 'strict' },
  });
  if (validation.type !== 'success') {
    errors.push(...validation.errors.map((e) => ({ message: `validation failed: ${formatCedarError(e, text)}` })));
  } else {
    const describe = (entry: { policyId: string; error: Parameters<typeof formatCedarError>[0] }): PolicySetError => {
      const owner = keyToPolicy.get(entry.policyId);
      const base = owner?.located.byteOffset ?? 0;
      const label = owner?.id !== undefined ? `policy "${owner.id}"` : 'policy';
      return {
        ...(owner?.id !== undefined ? { policyId: owner.id } : {}),
        message: `${label} at ${formatCedarError(entry.error, text, base)}`,
      };
    };
    errors.push(...validation.validationErrors.map(describe));
    warnings.push(...validation.validationWarnings.map(describe));
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, policies: infos, warnings, cedarPolicies, conditionsJson };
}

function fail(message: string): { ok: false; errors: PolicySetError[] } {
  return { ok: false, errors: [{ message }] };
}

/**
 * Cedar hands back each policy as a verbatim slice of the text, sorted by its internal id (not by
 * position). Finding each slice again gives line numbers and source order for messages.
 */
function locate(text: string, policies: readonly string[]): LocatedPolicy[] {
  const claimed = new Set<number>();
  const found = policies.map((policy) => {
    let at = text.indexOf(policy);
    while (at >= 0 && claimed.has(at)) at = text.indexOf(policy, at + 1);
    // A slice that cannot be found again would be a Cedar change; keep going with position 0.
    const charOffset = Math.max(at, 0);
    claimed.add(charOffset);
    return { text: policy, charOffset };
  });
  found.sort((a, b) => a.charOffset - b.charOffset);
  return found.map(({ text: policy, charOffset }) => {
    const byteOffset = Buffer.byteLength(text.slice(0, charOffset), 'utf8');
    const line = text.slice(0, charOffset).split('\n').length;
    return { text: policy, byteOffset, line };
  });
}
