import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Principal } from '@gw/identity';
import type { OpenedSession } from '../connect/session-broker.service.js';
import { RelaySession, invalidClientMessage, progressTokensOf, type PostStream } from './mcp-relay-session.js';

/** Just enough of a ServerResponse to see what a client would receive. */
class FakeResponse extends EventEmitter {
  status = 0;
  headers: Record<string, unknown> = {};
  body = '';
  writableEnded = false;
  writeHead(status: number, headers: Record<string, unknown> = {}) {
    this.status = status;
    this.headers = headers;
    return this;
  }
  flushHeaders() {}
  write(chunk: string) {
    this.body += chunk;
    return true;
  }
  end(chunk = '') {
    this.body += chunk;
    this.writableEnded = true;
  }
  events() {
    return [...this.body.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>);
  }
}

function session() {
  const stream = new PassThrough();
  const toAgent: unknown[] = [];
  stream.on('data', (chunk: Buffer) => toAgent.push(...chunk.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown)));
  const reports: unknown[] = [];
  let ended = 0;
  const s = new RelaySession('sid', 'files', { id: 'p' } as Principal, { stream } as unknown as OpenedSession, {
    heldCall: (_s, r) => void reports.push(r),
    malformed: () => undefined,
    ended: () => void (ended += 1),
  });
  return { s, toAgent, reports, ended: () => ended };
}
const post = (acceptsSse = true, tokens: string[] = []): PostStream & { res: FakeResponse } =>
  ({ res: new FakeResponse() as unknown as ServerResponse, acceptsSse, progressTokens: new Set(tokens.map((t) => JSON.stringify(t))), sse: false }) as PostStream & { res: FakeResponse };

describe('MCP relay session (control plane side of /mcp/<resource>)', () => {
  it('answers a POST as JSON when the server sent nothing meanwhile', () => {
    const { s } = session();
    const p = post();
    s.posts.push(p);
    s.answer(p, [{ jsonrpc: '2.0', id: 1, result: {} }], false);
    expect(p.res.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(JSON.parse(p.res.body)).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
  });

  it('turns a POST into an SSE stream when the server asks or notifies during it; progress goes to the stream of its token; the answer comes last', () => {
    const { s } = session();
    const a = post(true, ['tok-a']);
    const b = post(true);
    s.posts.push(a, b);
    s.fromAgent(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok-a', progress: 1 } }));
    s.fromAgent(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'sampling/createMessage', params: {} }));
    s.answer(a, [{ jsonrpc: '2.0', id: 1, result: {} }], false);
    expect(a.res.headers['Content-Type']).toBe('text/event-stream');
    expect(a.res.events()).toEqual([{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok-a', progress: 1 } }, { jsonrpc: '2.0', id: 1, result: {} }]);
    expect(b.res.events()).toEqual([{ jsonrpc: '2.0', id: 7, method: 'sampling/createMessage', params: {} }]);
  });

  it('without a POST stream: the GET stream, else a backlog for the next GET; a request nobody can receive is answered to the server at once', () => {
    const { s, toAgent } = session();
    s.fromAgent(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }));
    s.fromAgent(JSON.stringify({ jsonrpc: '2.0', id: 'q1', method: 'elicitation/create', params: {} }));
    expect(toAgent).toEqual([{ jsonrpc: '2.0', id: 'q1', error: { code: -32000, message: expect.stringMatching(/no open stream/) } }]);
    const get = new FakeResponse();
    s.openGet(get as unknown as ServerResponse);
    expect(get.events()).toEqual([{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }]);
    s.fromAgent(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { data: 'x' } }));
    expect(get.events()).toHaveLength(2);
  });

  it("consumes the agent's own reports (held calls, the end of the server) and answers waiting requests with why the session ended", () => {
    const { s, reports, ended } = session();
    const answers: unknown[] = [];
    s.waiting.set('1', (m) => void answers.push(m));
    s.fromAgent(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/gateway/held_call', params: { approvalId: 'a', state: 'held', tool: 't' } }));
    s.fromAgent(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/gateway/session_ended', params: { reason: 'the server crashed' } }));
    s.fromAgent('not json');
    expect(reports).toEqual([{ approvalId: 'a', state: 'held', tool: 't' }]);
    expect(ended()).toBe(1);
    s.close();
    expect(answers).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'the session ended: the server crashed' } }]);
  });

  it('reads progress tokens from the requests of a POST', () => {
    expect([...progressTokensOf([{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { progressToken: 5 } } }, { jsonrpc: '2.0', id: 2, method: 'ping' }])]).toEqual(['5']);
  });
});

describe('client messages the relay refuses before they reach the agent', () => {
  it('a request method without an id is not a notification: refused, naming it (a lax server would run it undecided)', () => {
    expect(invalidClientMessage([{ jsonrpc: '2.0', method: 'tools/call', params: { name: 'wipe' } }])).toMatch(/"tools\/call" without an id: only notifications/);
    expect(invalidClientMessage([{ jsonrpc: '2.0', method: 'resources/read', params: { uri: 'file:///x' } }])).toMatch(/without an id/);
    expect(invalidClientMessage([{ jsonrpc: '2.0', method: 'notifications/initialized' }])).toBeUndefined();
  });

  it('ids of other types than string and number, a method that is not a string, and an id used twice in a batch are refused', () => {
    for (const id of [null, true, { a: 1 }, [1]]) expect(invalidClientMessage([{ jsonrpc: '2.0', id, method: 'tools/call' }])).toMatch(/must be a string or a number/);
    expect(invalidClientMessage([{ jsonrpc: '2.0', id: 1, method: 7 }])).toMatch(/method must be a string/);
    expect(invalidClientMessage([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 1, method: 'ping' }])).toMatch(/id 1 is used twice/);
    // 1 and "1" are different ids; answers to the server's requests carry no method.
    expect(invalidClientMessage([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: '1', method: 'ping' }, { jsonrpc: '2.0', id: 1, result: {} }])).toBeUndefined();
  });
});

