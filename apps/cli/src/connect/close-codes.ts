import { CONNECT_CLOSE } from '@gw/contracts';

/** The user-facing sentence for how a session ended (WebSocket close code and server reason). */
export function describeClose(code: number, reason: string, resource: string): string {
  const why = reason ? `: ${reason}` : '';
  switch (code) {
    case CONNECT_CLOSE.normal:
      return 'session ended';
    case CONNECT_CLOSE.unauthenticated:
      return `not authenticated${why}; run gw login`;
    case CONNECT_CLOSE.forbidden:
      return `not allowed to connect to ${resource}${why}`;
    case CONNECT_CLOSE.unknownResource:
      return `unknown resource ${resource}${why}`;
    case CONNECT_CLOSE.terminated:
      return `session terminated${why}`;
    case CONNECT_CLOSE.agentLost:
      return `the agent serving ${resource} went away mid-session${why}`;
    case CONNECT_CLOSE.resourceError:
      return `resource ${resource} failed${why}`;
    case CONNECT_CLOSE.resourceOffline:
      return `resource ${resource} is offline: no agent serves it right now${why}`;
    case CONNECT_CLOSE.internal:
      return `control plane error${why}`;
    case 1006:
      return `connection to the control plane failed or was lost${why}`;
    default:
      return `connection closed (code ${code})${why}`;
  }
}

/** HTTP status of a refused upgrade, mapped onto the same close codes. */
export function closeCodeForHttpStatus(status: number): number {
  switch (status) {
    case 401:
      return CONNECT_CLOSE.unauthenticated;
    case 403:
      return CONNECT_CLOSE.forbidden;
    case 404:
      return CONNECT_CLOSE.unknownResource;
    case 503:
      return CONNECT_CLOSE.resourceOffline;
    default:
      return CONNECT_CLOSE.internal;
  }
}
