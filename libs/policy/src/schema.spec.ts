import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACTION_GROUPS, GATEWAY_ACTIONS } from './actions.js';
import { cedar } from './cedar.js';
import { CEDAR_SCHEMA } from './schema.js';

describe('Cedar schema', () => {
  it('is identical to libs/policy/gateway.cedarschema', () => {
    const file = readFileSync(new URL('../gateway.cedarschema', import.meta.url), 'utf8');
    expect(file).toBe(CEDAR_SCHEMA);
  });

  it('declares every gateway action and group with the exact ids, and groups as written', () => {
    const json = cedar.schemaToJson(CEDAR_SCHEMA);
    expect(json.type).toBe('success');
    if (json.type !== 'success') return;
    const actions = json.json.Gateway?.actions ?? {};
    const groups = Object.keys(ACTION_GROUPS);
    expect(Object.keys(actions).sort()).toEqual([...GATEWAY_ACTIONS, ...groups].sort());
    for (const [group, members] of Object.entries(ACTION_GROUPS)) {
      for (const member of members) {
        const parents = (actions[member]?.memberOf ?? []).map((p) => p.id);
        expect(parents, `${member} in ${group}`).toContain(group);
      }
    }
    for (const action of GATEWAY_ACTIONS) expect(actions[action]?.appliesTo, action).toBeDefined();
  });
});
