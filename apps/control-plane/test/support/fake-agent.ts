import { io, type Socket } from 'socket.io-client';
import { AGENT_EVENTS, AGENT_NAMESPACE, type HelloAck, type ResourceDeclaration } from '@gw/contracts';

/**
 * A protocol-level stand-in for an edge agent, for tests of the control plane's hub alone
 * (the real agent is exercised end to end elsewhere). It can also misbehave on purpose.
 */
export async function connectFakeAgent(
  baseUrl: string,
  auth: Record<string, unknown>,
  resources: ResourceDeclaration[] = [],
): Promise<{ socket: Socket; ack: HelloAck; close(): void }> {
  const socket = io(baseUrl + AGENT_NAMESPACE, { transports: ['websocket'], auth, reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  const ack = (await socket.timeout(5000).emitWithAck(AGENT_EVENTS.hello, { version: 'test', resources })) as HelloAck;
  return { socket, ack, close: () => socket.disconnect() };
}

export function waitForDisconnect(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.disconnected) return resolve('already disconnected');
    const timer = setTimeout(() => reject(new Error(`still connected after ${timeoutMs} ms`)), timeoutMs);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}
