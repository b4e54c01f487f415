import { useEffect, useRef, useState } from 'react';
import { readEventStream, type SseEvent } from './sse.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

/**
 * Follows the approvals event stream while mounted: calls `onChange` with each approval id an event
 * names (and with undefined after every (re)connect, since the stream does not replay what was
 * missed). Reconnects with backoff; stops when the server says the token expired.
 */
export function useApprovalStream(base: string, token: () => string, onChange: (approvalId: string | undefined, event: SseEvent) => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handler = useRef(onChange);
  handler.current = onChange;
  useEffect(() => {
    const abort = new AbortController();
    let attempt = 0;
    const run = async () => {
      while (!abort.signal.aborted) {
        let expired = false;
        try {
          await readEventStream(`${base}/approvals/stream`, token(), (event) => {
            if (event.type === 'token_expired') {
              expired = true;
              return;
            }
            attempt = 0;
            let id: string | undefined;
            try {
              id = (JSON.parse(event.data) as { data?: { approval?: { id?: string } } }).data?.approval?.id;
            } catch {
              return;
            }
            handler.current(id, event);
          }, abort.signal, () => {
            setState('live');
            // The stream does not replay: whatever changed while it was down is read again.
            handler.current(undefined, { type: 'connected', data: '' });
          });
        } catch (error) {
          if (abort.signal.aborted) return;
          if ((error as { status?: number }).status === 401) expired = true;
        }
        if (expired) {
          setState('ended');
          return;
        }
        setState('reconnecting');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt++)));
      }
    };
    void run();
    return () => abort.abort();
  }, [base, token]);
  return state;
}
