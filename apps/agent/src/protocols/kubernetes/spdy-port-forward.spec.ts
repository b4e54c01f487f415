import { describe, expect, it } from 'vitest';
import { RstStatus, SpdySession, type SpdyStream } from '@gw/protocol-spdy';
import { SpdyPortForwardPairs, type ForwardedConnection } from './spdy-port-forward.js';

/** kubectl's side (a client session) joined to the agent's pairing (a server session). */
function setup() {
  const pairs: ForwardedConnection[] = [];
  const forwarder = new SpdyPortForwardPairs((c) => pairs.push(c));
  const client: SpdySession = new SpdySession({ role: 'client', output: (b) => server.receive(b) });
  const server = new SpdySession({ role: 'server', output: (b) => client.receive(b), onStream: (s) => forwarder.addStream(s) });
  return { client, pairs };
}

function read(stream: SpdyStream): { text: () => string; ended: () => boolean; reset: () => number | undefined } {
  let text = '';
  let ended = false;
  let reset: number | undefined;
  stream.setReceiver({ data: (c) => (text += c.toString()), end: () => (ended = true), reset: (s) => (reset = s) });
  return { text: () => text, ended: () => ended, reset: () => reset };
}

describe('SpdyPortForwardPairs', () => {
  it('pairs kubectl\'s error and data streams by requestID, in either order, as one forwarded connection', () => {
    const { client, pairs } = setup();
    const data1 = client.openStream({ streamtype: 'data', port: '8080', requestid: '1' });
    client.openStream({ streamtype: 'error', port: '5432', requestid: '2' });
    client.openStream({ streamtype: 'error', port: '8080', requestid: '1' });
    expect(pairs.map((p) => [p.port, p.requestId])).toEqual([[8080, '1']]);
    client.openStream({ streamtype: 'data', port: '5432', requestid: '2' });
    expect(pairs.map((p) => [p.port, p.requestId])).toEqual([[8080, '1'], [5432, '2']]);

    // What kubectl sends before the relay starts waits; then it comes as channel 0 messages.
    const messages: Buffer[] = [];
    const pair = pairs[0]!.client;
    pair.on('message', (m: Buffer) => messages.push(m));
    data1.write(Buffer.from('early'));
    expect(messages).toEqual([]);
    pair.start();
    expect(messages).toEqual([Buffer.from('\x00early')]);

    // The API server's first message on each channel is the port: kubectl never sees it.
    const got = read(data1);
    pair.send(Buffer.from([0, 0x90, 0x1f]));
    pair.send(Buffer.from('\x00reply'));
    expect(got.text()).toBe('reply');
    pair.close();
    expect(got.ended()).toBe(true);
  });

  it('answers a bad port on the error stream and refuses streams that are not error or data', () => {
    const { client, pairs } = setup();
    const error = client.openStream({ streamtype: 'error', port: '99999', requestid: '7' });
    const said = read(error);
    client.openStream({ streamtype: 'data', port: '99999', requestid: '7' });
    expect(pairs).toEqual([]);
    expect(said.text()).toContain('invalid port "99999"');
    expect(said.ended()).toBe(true);

    const odd = client.openStream({ streamtype: 'stdin', port: '80', requestid: '8' });
    expect(read(odd).reset()).toBe(RstStatus.REFUSED_STREAM);
  });

  it('ends the connection when kubectl closes its side of the data stream', () => {
    const { client, pairs } = setup();
    client.openStream({ streamtype: 'error', port: '8080', requestid: '1' });
    const data = client.openStream({ streamtype: 'data', port: '8080', requestid: '1' });
    const closed: string[] = [];
    pairs[0]!.client.on('close', (_code: number, reason: string) => closed.push(reason));
    pairs[0]!.client.start();
    data.end();
    expect(closed).toEqual(['client closed its connection']);
  });
});

describe('the ports of a port-forward query, as policy sees them (context.port)', () => {
  it('reads repeated and comma-separated ports with an optional +, and refuses anything that is not a port', async () => {
    const { portForwardPorts } = await import('./exec-relay.js');
    const { RequestAttributeError } = await import('./request-attributes.js');
    expect(portForwardPorts(new URLSearchParams('ports=8080&ports=9229,%2B443&ports=0080'))).toEqual([8080, 9229, 443, 80]);
    expect(portForwardPorts(new URLSearchParams(''))).toEqual([]);
    for (const bad of ['ports=', 'ports=0', 'ports=65536', 'ports=-1', 'ports=%209229', 'ports=80,', 'ports=%2B%2B80', 'ports=+80', 'ports=0x50', 'ports=8e3']) {
      expect(() => portForwardPorts(new URLSearchParams(bad)), bad).toThrow(RequestAttributeError);
    }
  });
});
