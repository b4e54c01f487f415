import { startConnectListener, type ConnectEvent } from '../connect/listener.js';
import { currentCredentials } from '../acquire/credentials.js';
import type { CliContext } from './context.js';

export async function connectCommand(ctx: CliContext, apiUrl: string, resource: string, options: { port: number; host: string }): Promise<void> {
  const { token, attestation } = await currentCredentials(ctx.env);
  const report = (event: ConnectEvent): void => {
    switch (event.type) {
      case 'connection':
        ctx.err(`#${event.id} connection from ${event.remote}\n`);
        return;
      case 'ready':
        ctx.err(`#${event.id} session ${event.sessionId} open\n`);
        return;
      case 'closed':
        ctx.err(
          event.failed
            ? `#${event.id} ${event.message}\n`
            : `#${event.id} closed (${event.bytesUp} bytes sent, ${event.bytesDown} bytes received)\n`,
        );
        return;
      case 'refused':
        ctx.err(`refused a connection from ${event.remote}: ${event.reason}\n`);
        return;
    }
  };
  const listener = await startConnectListener({ apiUrl, token, ...(attestation !== undefined ? { attestation } : {}), resource, port: options.port, host: options.host, onEvent: report });
  ctx.out(`listening on ${listener.host}:${listener.port} -> ${resource}\n`);
  await ctx.interrupted();
  await listener.close();
}
