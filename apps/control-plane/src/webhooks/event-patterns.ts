import { DOMAIN_EVENT_TYPES, type DomainEventType } from '../events/domain-event.js';

/** `access_request`, `grant`, `approval`, `statement`: the part before the dot. */
const EVENT_FAMILIES = [...new Set(DOMAIN_EVENT_TYPES.map((t) => t.split('.')[0]))];

/**
 * A subscription names what it wants as exact event types, a family wildcard (`approval.*`) or
 * everything (`*`). Anything else is refused at creation, so a typo cannot silently match nothing.
 */
export function isValidEventPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return EVENT_FAMILIES.includes(pattern.slice(0, -2));
  return (DOMAIN_EVENT_TYPES as readonly string[]).includes(pattern);
}

export function matchesEventPattern(pattern: string, type: DomainEventType): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

export function matchesAnyPattern(patterns: readonly string[], type: DomainEventType): boolean {
  return patterns.some((p) => matchesEventPattern(p, type));
}

export const EVENT_PATTERN_HELP = `an event type (${DOMAIN_EVENT_TYPES.join(', ')}), a family wildcard (${EVENT_FAMILIES.map((f) => `${f}.*`).join(', ')}) or *`;
