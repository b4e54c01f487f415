// Opens N `gw connect` WebSockets at once and sends a payload on each the moment it opens, without
// waiting for `ready` (as any client of the endpoint may). Run in its own process so that its sends
// race the control plane's token check as a remote client's would. Prints one JSON line:
// [{ ready, echoed }] in the order opened.
//   node e2e/support/first-bytes-client.mjs <ws url> <token> <count>
import WebSocket from 'ws';

const [url, token, count] = process.argv.slice(2);
const openAndSend = (n) => new Promise((resolve) => {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const payload = `first-bytes-${n}`;
  let ready = false;
  let echoed = '';
  const finish = () => {
    clearTimeout(timer);
    ws.terminate();
    resolve({ ready, echoed });
  };
  const timer = setTimeout(finish, 10_000);
  ws.once('open', () => ws.send(Buffer.from(payload)));
  ws.on('message', (data, isBinary) => {
    if (!isBinary) ready = JSON.parse(data.toString()).type === 'ready';
    else echoed += data.toString();
    if (echoed.length >= payload.length) finish();
  });
  ws.once('error', finish);
});
const results = await Promise.all(Array.from({ length: Number(count) }, (_, n) => openAndSend(n)));
process.stdout.write(`${JSON.stringify(results)}\n`);
