import { describe, expect, it } from 'vitest';
import { renderAsciicast, terminalChannels } from './asciicast.js';
import type { StoredEvent } from './recordings.service.js';

const at = '2026-11-28T20:00:00.000Z';
const ev = (seq: number, type: string, data: Record<string, unknown>): StoredEvent => ({ seq, at, type, data });
const events: StoredEvent[] = [
  ev(0, 'ssh.session', { login: 'deploy' }),
  ev(1, 'ssh.exec', { channel: 1, command: 'uptime', pty: null, decision: 'allow' }),
  ev(2, 'ssh.io', { channel: 1, frames: [[0.01, 'o', 'up 3 days\n']] }),
  ev(3, 'ssh.exec', { channel: 2, command: 'rm -rf /', pty: null, decision: 'deny' }),
  ev(4, 'ssh.shell', { channel: 3, pty: { term: 'xterm-256color', cols: 120, rows: 40 }, decision: 'allow' }),
  ev(5, 'ssh.io', { channel: 3, frames: [[0.5, 'o', '$ '], [1.25, 'i', 'ls\r'], [1.3, 'e', 'ls: denied\r\n']] }),
  ev(6, 'ssh.io', { channel: 3, frames: [[2, 'r', '100x30'], [1.9, 'o', 'late clock'], [3, 'x', 'unknown kind']] }),
];

describe('asciicast rendering', () => {
  it('lists terminal channels, shells first, refused ones left out', () => {
    expect(terminalChannels(events).map((c) => [c.channel, c.kind])).toEqual([[3, 'shell'], [1, 'exec']]);
  });

  it('renders a v2 file: header with size and TERM, stderr as output, resizes, times never going back', () => {
    const [shell] = terminalChannels(events);
    const lines = renderAsciicast(shell!, events).trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toEqual({ version: 2, width: 120, height: 40, timestamp: Date.parse(at) / 1000, env: { TERM: 'xterm-256color' } });
    expect(lines.slice(1)).toEqual([[0.5, 'o', '$ '], [1.25, 'i', 'ls\r'], [1.3, 'o', 'ls: denied\r\n'], [2, 'r', '100x30'], [2, 'o', 'late clock']]);
  });

  it('renders a command with the default 80x24 and its command in the header', () => {
    const exec = terminalChannels(events).find((c) => c.kind === 'exec')!;
    const [header, ...frames] = renderAsciicast(exec, events).trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(header).toMatchObject({ width: 80, height: 24, command: 'uptime' });
    expect(frames).toEqual([[0.01, 'o', 'up 3 days\n']]);
  });
});
