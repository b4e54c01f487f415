export { MASK_ENTITIES } from './types.js';
export type { ColumnRef, EntityMatch, MaskEntity, MaskingObligation, MaskingRules, MaskStyle, RecognizerOptions } from './types.js';
export { Masker, OVERSIZED_VALUE, ruleTableMatches, strongestStyle } from './masker.js';
export type { MaskerOptions } from './masker.js';
export { findEntities } from './scan.js';
export { HASH_HEX_LENGTH, HASH_PREFIX, maskFull, maskHash, maskPartial } from './styles.js';
export { luhnValid } from './recognizers/card.js';
export { ssnValid } from './recognizers/ssn.js';
