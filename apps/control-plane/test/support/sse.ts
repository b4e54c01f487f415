/** A tiny client for the approvals SSE stream: collects parsed events until closed. */
export interface SseEvent {
  id: string;
  event: string;
  data: { id: string; type: string; data: Record<string, any> };
}

export async function openSse(url: string, token: string): Promise<{ events: SseEvent[]; status: number; contentType: string | null; next(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: controller.signal });
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  if (res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const fields: Record<string, string> = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const at = line.indexOf(': ');
              if (at > 0) fields[line.slice(0, at)] = line.slice(at + 2);
            }
            if (fields.event && fields.data) {
              events.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data) as SseEvent['data'] });
              for (const w of waiters) w();
            }
          }
        }
      } catch {
        /* aborted */
      }
    })();
  }
  return {
    events,
    status: res.status,
    contentType: res.headers.get('content-type'),
    next(pred, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(pred);
          if (found) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching SSE event within ${timeoutMs} ms; got ${events.map((e) => e.event).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
