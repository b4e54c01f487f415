import { describe, expect, it } from 'vitest';
import { ephemeralContainerCommands } from './ephemeral-containers.js';

describe('ephemeralContainerCommands', () => {
  it('lists each container\'s command then args; null for one that runs its image\'s entrypoint', () => {
    const pod = { spec: { ephemeralContainers: [{ name: 'a', command: ['sh', '-c'], args: ['rm -rf /x'] }, { name: 'b', image: 'busybox' }, { name: 'c', command: [], args: ['x'] }] } };
    expect(ephemeralContainerCommands([pod])).toEqual([['sh', '-c', 'rm -rf /x'], null, null]);
  });

  it('reads YAML maps as objects, and says nothing when the body names no ephemeral containers', () => {
    const yaml = new Map<unknown, unknown>([['spec', new Map([['ephemeralContainers', [new Map<unknown, unknown>([['command', ['ls']]])]]])]]);
    expect(ephemeralContainerCommands([yaml])).toEqual([['ls']]);
    expect(ephemeralContainerCommands([{ metadata: { labels: { a: 'b' } } }])).toBeUndefined();
    expect(ephemeralContainerCommands([{ spec: { ephemeralContainers: [] } }])).toEqual([]);
  });
});
