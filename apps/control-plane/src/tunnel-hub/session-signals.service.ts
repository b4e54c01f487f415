import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { DataSource } from 'typeorm';
import {
  PG_EVENTS, SESSION_SIGNAL_EVENTS, sessionSignalSchema, type SessionSignal, type SessionSignalAck, type SessionSignalOutcome,
} from '@gw/contracts';
import type { Principal } from '@gw/identity';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { boundedRedis } from '../redis/bounded.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { LiveSessions } from '../sessions/live-sessions.js';
import { SessionsService } from '../sessions/sessions.service.js';

interface LiveRow {
  id: string;
  principal_id: string;
  principal: Record<string, unknown>;
  resource_name: string;
  resource_type: string;
}

/** A statement cancel on its way to the replica that holds the target session's client. */
interface CancelMessage {
  sessionId: string;
  protocol: 'postgres' | 'mysql';
}

/**
 * Cancels and kills that one session sends to another by the id the gateway gave the target's
 * client (see @gw/contracts session-signals): resolved among the live sessions of every replica
 * (the id is stored with the session), allowed only between sessions of the same principal, and
 * delivered to whichever replica holds the target, which tells the target's agent. A cancel takes
 * the same road as the target client's own CancelRequest (`pg:cancel`), a terminate the road of a
 * kill through the API.
 */
@Injectable()
export class SessionSignals implements OnApplicationBootstrap {
  private readonly log = loggerFor(SessionSignals);
  private readonly cancelChannel: string;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(LiveSessions) private readonly live: LiveSessions,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cancelChannel = channels(config.redis.prefix).sessionCancel;
  }

  onApplicationBootstrap(): void {
    this.redisChannels.listen(this.cancelChannel, (body) => {
      const message = JSON.parse(body) as Partial<CancelMessage>;
      if (typeof message.sessionId !== 'string' || (message.protocol !== 'postgres' && message.protocol !== 'mysql')) {
        throw new Error('malformed session cancel message');
      }
      this.cancelLocal(message as CancelMessage);
    });
  }

  /** Wired by the hub on every agent connection. */
  attach(socket: Socket, agentId: string): void {
    socket.on(SESSION_SIGNAL_EVENTS.signal, (raw: unknown, ack?: (a: SessionSignalAck) => void) => {
      const reply = typeof ack === 'function' ? ack : () => undefined;
      const parsed = sessionSignalSchema.safeParse(raw);
      if (!parsed.success) return reply({ ok: false, error: `invalid session signal: ${parsed.error.issues[0]?.message ?? 'bad shape'}` });
      this.signal(agentId, parsed.data).then(reply, (err: unknown) => {
        this.log.error({ err, agentId }, 'signalling a session failed');
        reply({ ok: false, error: 'the control plane could not signal the session' });
      });
    });
  }

  private async signal(agentId: string, req: SessionSignal): Promise<SessionSignalAck> {
    const [asking] = await this.dataSource.query<(LiveRow & { agent_id: string })[]>(
      `SELECT id, principal_id, principal, resource_name, resource_type, agent_id FROM sessions WHERE id = $1 AND status IN ('opening', 'active')`,
      [req.sessionId],
    );
    if (asking?.agent_id !== agentId) return { ok: false, error: `session ${req.sessionId} is not a live session of this agent` };
    const protocol = asking.resource_type;
    if (protocol !== 'postgres' && protocol !== 'mysql') return { ok: false, error: `a ${protocol} session cannot signal sessions` };
    // MySQL ids name connections of one server (one resource); Postgres pids any session the principal may cancel.
    const candidates = await this.dataSource.query<LiveRow[]>(
      `SELECT id, principal_id, principal, resource_name, resource_type FROM sessions
        WHERE client_key = $1 AND resource_type = $2 AND status IN ('opening', 'active') ${protocol === 'mysql' ? 'AND resource_name = $3' : ''}`,
      protocol === 'mysql' ? [req.clientKey, protocol, asking.resource_name] : [req.clientKey, protocol],
    );
    const own = candidates.filter((c) => c.principal_id === asking.principal_id);
    let outcome: SessionSignalOutcome;
    // Two live sessions with one random 31-bit id is next to impossible; never guess between them.
    if (own.length === 1) outcome = await this.deliver(own[0]!, asking, req.action, protocol);
    else outcome = own.length === 0 && candidates.length > 0 ? 'not-owner' : 'unknown';
    this.log.info({ sessionId: asking.id, target: own.length === 1 ? own[0]!.id : null, action: req.action, outcome }, 'session signal');
    return { ok: true, outcome };
  }

  private async deliver(target: LiveRow, asking: LiveRow, action: SessionSignal['action'], protocol: 'postgres' | 'mysql'): Promise<SessionSignalOutcome> {
    if (action === 'terminate') {
      // The principal ends its own session: the kill API's path (audited, delivered to any replica, swept again if lost).
      const actor = { ...asking.principal, id: asking.principal_id } as unknown as Principal;
      await this.sessions.kill(target.id, actor);
      return 'signalled';
    }
    const message: CancelMessage = { sessionId: target.id, protocol };
    if (this.cancelLocal(message)) return 'signalled';
    await boundedRedis(this.redisChannels.publish(this.cancelChannel, JSON.stringify(message)), 'sending the cancel');
    return 'signalled';
  }

  /** False when this replica does not hold the session's client. */
  private cancelLocal(message: CancelMessage): boolean {
    const event = message.protocol === 'postgres' ? PG_EVENTS.cancel : SESSION_SIGNAL_EVENTS.mysqlKillQuery;
    return this.live.notify(message.sessionId, event, { sessionId: message.sessionId });
  }
}
