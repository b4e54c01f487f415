/**
 * A server-sent events parser (the WHATWG event stream format) fed with text chunks as they arrive:
 * lines may be split anywhere, end in LF, CR or CRLF; `data` lines join with LF; comments are
 * ignored; an event is dispatched at a blank line only if it has data.
 */
export interface SseEvent {
  type: string;
  data: string;
  id?: string;
}

const MAX_BUFFER = 1024 * 1024;

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private type = '';
  private id: string | undefined;
  private lastWasCr = false;

  /** Returns the events completed by this chunk. */
  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    // A CRLF split between chunks: the LF belongs to the CR already seen.
    if (this.lastWasCr && text.startsWith('\n')) text = text.slice(1);
    this.lastWasCr = text.endsWith('\r');
    this.buffer += text;
    if (this.buffer.length > MAX_BUFFER) throw new Error('event stream line too long');
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      const event = this.line(line);
      if (event) out.push(event);
    }
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.type = '';
        return undefined;
      }
      const event: SseEvent = { type: this.type || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) };
      this.data = [];
      this.type = '';
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }
}

/**
 * Reads an event stream with fetch, so the bearer token goes in the Authorization header (an
 * EventSource cannot send one, and a token in the URL would end up in logs). Resolves when the
 * stream ends; rejects on a failed response or a network error.
 */
export async function readEventStream(url: string, token: string, onEvent: (event: SseEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<void> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal, cache: 'no-store' });
  if (!res.ok || !res.body) throw Object.assign(new Error(`event stream: HTTP ${res.status}`), { status: res.status });
  onOpen?.();
  const parser = new SseParser();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const event of parser.push(value)) onEvent(event);
  }
}
