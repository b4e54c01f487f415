// What bench/scale's processes share: one `gw connect` session as the bench opens it (a WebSocket to
// /api/v1/connect through the load balancer, timed from the dial until the first byte sent comes back
// from the agent's echo resource), and a bounded-concurrency pool.
import WebSocket from 'ws';

/** Resolves with the open socket and the latency in ms (NaN when the session did not open). */
export function openSession(url, token) {
  return new Promise((resolve) => {
    const started = performance.now();
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const done = (latency) => resolve({ ws, latency });
    ws.once('open', () => ws.send(Buffer.from('p')));
    // The first message is the text `ready`; the open counts until the byte came back from the agent.
    const onMessage = (_data, isBinary) => {
      if (!isBinary) return;
      ws.off('message', onMessage);
      done(performance.now() - started);
    };
    ws.on('message', onMessage);
    ws.once('close', () => done(NaN));
    ws.once('error', () => done(NaN));
  });
}

export const sessionUrl = (lbPort, resource) => `ws://127.0.0.1:${lbPort}/api/v1/connect?resource=${resource}`;

/** Runs `work` on every item with at most `concurrency` at a time; results in the items' order. */
export async function pool(items, concurrency, work) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  }));
  return results;
}
