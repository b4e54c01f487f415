import { describe, expect, it } from 'vitest';
import { AgentRegistry, type ConnectedAgent } from './agent-registry.js';

/** A connected agent as the registry sees it: a socket id, a tunnel with a load, declared resources. */
function agent(socketId: string, agentId: string, resources: string[], openStreams = 0, closed = false): ConnectedAgent {
  return {
    agentId,
    agentName: agentId,
    socket: { id: socketId } as ConnectedAgent['socket'],
    tunnel: { closed, stats: () => ({ openStreams }) } as unknown as ConnectedAgent['tunnel'],
    resources: new Map(resources.map((name) => [name, { name, type: 'tcp', labels: {} }])),
    connectedAt: new Date(),
  };
}

describe('AgentRegistry', () => {
  it('picks the least loaded open connection among the agents serving a resource', () => {
    const registry = new AgentRegistry();
    const busy = agent('s1', 'a1', ['db', 'cache'], 5);
    const idle = agent('s2', 'a2', ['db'], 1);
    const closed = agent('s3', 'a3', ['db'], 0, true);
    for (const a of [busy, idle, closed]) registry.add(a);
    expect(registry.pick('db')).toBe(idle);
    expect(registry.pick('cache')).toBe(busy);
    expect(registry.pick('nothing')).toBeUndefined();
  });

  it('forgets a connection once removed, for its resources and its agent', () => {
    const registry = new AgentRegistry();
    const first = agent('s1', 'a1', ['db']);
    const second = agent('s2', 'a1', ['db']);
    registry.add(first);
    registry.add(second);
    expect(registry.connectionsOf('a1')).toEqual([first, second]);
    expect(registry.remove('s1')).toBe(first);
    expect(registry.remove('s1')).toBeUndefined();
    expect(registry.pick('db')).toBe(second);
    expect(registry.isOnline('a1')).toBe(true);
    registry.remove('s2');
    expect(registry.isOnline('a1')).toBe(false);
    expect(registry.pick('db')).toBeUndefined();
    expect(registry.all()).toEqual([]);
  });

  it('replaces a connection added again under the same socket id', () => {
    const registry = new AgentRegistry();
    registry.add(agent('s1', 'a1', ['old']));
    const again = agent('s1', 'a1', ['new']);
    registry.add(again);
    expect(registry.pick('old')).toBeUndefined();
    expect(registry.pick('new')).toBe(again);
    expect(registry.connectionsOf('a1')).toEqual([again]);
  });
});
