import type { StoredEvent } from './recordings.service.js';

/** One terminal channel of an SSH session (or a Kubernetes exec/attach), as the agent recorded it. */
export interface TerminalChannel {
  channel: number;
  kind: 'shell' | 'exec';
  command?: string;
  startedAt: string;
  cols: number;
  rows: number;
  term?: string;
}

type Frame = [number, string, string];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The channels that have output to replay: shells, then commands, in the order they started (allowed ones only). */
export function terminalChannels(events: readonly StoredEvent[]): TerminalChannel[] {
  const out: TerminalChannel[] = [];
  for (const e of events) {
    // A Kubernetes exec/attach is recorded as `k8s.exec` only once it runs (allowed, or approved).
    const ssh = (e.type === 'ssh.shell' || e.type === 'ssh.exec') && e.data['decision'] === 'allow';
    if (!ssh && e.type !== 'k8s.exec') continue;
    const pty = isRecord(e.data['pty']) ? e.data['pty'] : undefined;
    out.push({
      channel: Number(e.data['channel']),
      kind: e.type === 'ssh.shell' || (e.type === 'k8s.exec' && e.data['tty'] === true) ? 'shell' : 'exec',
      ...(typeof e.data['command'] === 'string' ? { command: e.data['command'] } : {}),
      startedAt: e.at,
      cols: typeof pty?.['cols'] === 'number' && pty['cols'] > 0 ? pty['cols'] : 80,
      rows: typeof pty?.['rows'] === 'number' && pty['rows'] > 0 ? pty['rows'] : 24,
      ...(typeof pty?.['term'] === 'string' ? { term: pty['term'] } : {}),
    });
  }
  return out.sort((a, b) => (a.kind === b.kind ? a.channel - b.channel : a.kind === 'shell' ? -1 : 1));
}

/**
 * Renders one channel as an asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/): a JSON
 * header line, then one `[seconds, code, data]` line per event, "o" output (stderr included, as a
 * terminal shows it), "i" input, "r" resize ("COLSxROWS").
 */
export function renderAsciicast(channel: TerminalChannel, events: readonly StoredEvent[]): string {
  const header = {
    version: 2,
    width: channel.cols,
    height: channel.rows,
    timestamp: Math.floor(Date.parse(channel.startedAt) / 1000),
    ...(channel.command !== undefined ? { command: channel.command } : {}),
    env: { TERM: channel.term ?? 'xterm' },
  };
  const lines = [JSON.stringify(header)];
  let last = 0;
  for (const e of events) {
    if ((e.type !== 'ssh.io' && e.type !== 'k8s.io') || Number(e.data['channel']) !== channel.channel || !Array.isArray(e.data['frames'])) continue;
    for (const raw of e.data['frames'] as unknown[]) {
      if (!Array.isArray(raw) || raw.length !== 3) continue;
      const [t, kind, data] = raw as Frame;
      if (typeof t !== 'number' || typeof data !== 'string') continue;
      const code = kind === 'e' ? 'o' : kind;
      if (code !== 'o' && code !== 'i' && code !== 'r') continue;
      // Timestamps never go backwards in a cast file, whatever a clock did.
      last = Math.max(last, t);
      lines.push(JSON.stringify([last, code, data]));
    }
  }
  return `${lines.join('\n')}\n`;
}
