import { Inject, Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { DataSource } from 'typeorm';
import { MCP_TOOL_PIN_EVENTS, toolPinCheckSchema, type ToolPinCheckAck } from '@gw/contracts';
import { loggerFor } from '../common/logger.js';
import { ToolPinsService } from '../mcp-pins/tool-pins.service.js';

/**
 * The control plane's side of pinned MCP tool definitions: an agent reports the tools a server
 * offers in one of ITS live sessions of that resource, and learns which of them it may show.
 */
@Injectable()
export class AgentToolPins {
  private readonly log = loggerFor(AgentToolPins);

  constructor(
    @Inject(ToolPinsService) private readonly pins: ToolPinsService,
    @Inject(DataSource) private readonly dataSource: DataSource,
  ) {}

  attach(socket: Socket, agentId: string): void {
    socket.on(MCP_TOOL_PIN_EVENTS.check, (raw: unknown, ack?: (a: ToolPinCheckAck) => void) => {
      const reply = typeof ack === 'function' ? ack : () => undefined;
      const parsed = toolPinCheckSchema.safeParse(raw);
      if (!parsed.success) return reply({ ok: false, error: `invalid tool list: ${parsed.error.issues[0]?.message ?? 'bad shape'}` });
      const check = parsed.data;
      this.dataSource
        .query<unknown[]>(
          `SELECT 1 FROM sessions WHERE id = $1 AND agent_id = $2 AND resource_name = $3 AND resource_type = 'mcp' AND status IN ('opening', 'active')`,
          [check.sessionId, agentId, check.resource],
        )
        .then(async (own) => {
          if (own.length === 0) return reply({ ok: false, error: 'not a live MCP session of this agent for that resource' });
          reply({ ok: true, accepted: await this.pins.check({ id: agentId }, check) });
        })
        .catch((err: unknown) => {
          this.log.error({ err, agentId }, 'checking MCP tool pins failed');
          reply({ ok: false, error: 'the control plane could not check the tool definitions' });
        });
    });
  }
}
