export {
  GATEWAY_ACTIONS,
  ACTION_GROUPS,
  RESOURCE_TYPES,
  isGatewayAction,
  type GatewayAction,
  type ActionGroup,
  type ResourceType,
} from './actions.js';
export { CEDAR_SCHEMA, CEDAR_NAMESPACE, PRINCIPAL_TYPE, GROUP_TYPE, RESOURCE_TYPE, ACTION_TYPE } from './schema.js';
export {
  MASK_STYLES,
  MASK_ENTITIES,
  mergeMasking,
  strongerStyle,
  type MaskStyle,
  type MaskEntity,
  type MaskingObligation,
  type EntityMaskRule,
  type ColumnMaskRule,
} from './masking.js';
export type { PolicyInfo, PolicySetError, ApprovalRequirement, ApprovalView, KubernetesIdentity } from './policy-info.js';
export { APPROVAL_VIEWS } from './policy-info.js';
export {
  DEFAULT_APPROVAL_TIMEOUT_SECONDS,
  DEFAULT_STATEMENT_APPROVAL_TIMEOUT_SECONDS,
  DEFAULT_APPROVERS,
  POLICY_ID_PATTERN,
} from './annotations.js';
export { validatePolicySet, MAX_POLICIES, MAX_POLICY_TEXT_BYTES, type PolicySetValidation } from './validate.js';
export {
  policyInputSchema,
  INPUT_LIMITS,
  type PolicyInput,
  type PolicyContext,
  type PolicyResource,
} from './input.js';
export type { PolicyDecision, PolicyEffect, PolicyObligations } from './decision.js';
export type { CedarRequest } from './cedar-request.js';
export { PolicyValidationError } from './errors.js';
export { parseDuration } from './durations.js';
export {
  PolicyEngine,
  DEFAULT_CACHE_SIZE,
  MAX_CACHED_REQUEST_CHARS,
  type PolicyEngineOptions,
  type PolicyExplanation,
  type CacheStats,
} from './engine.js';
export { DEMO_POLICY, DEMO_SSH_LOGIN } from './demo-policy.js';
