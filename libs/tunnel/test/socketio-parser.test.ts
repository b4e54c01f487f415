import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawEventParser } from '../src/index.js';

/*
 * The raw-event parser between a real socket.io server and client over 127.0.0.1: the batch event
 * travels as one binary WebSocket message, every other event exactly as with the default parser.
 */

const parser = rawEventParser('fs');
const httpServer = createServer();
const ioServer = new Server(httpServer, { transports: ['websocket'], serveClient: false, parser });
let url: string;
let serverSide: Promise<ServerSocket>;
let client: ClientSocket;

function nextSocket(): Promise<ServerSocket> {
  return new Promise((resolve) => ioServer.of('/agents').once('connection', resolve));
}

beforeAll(async () => {
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/agents`;
  serverSide = nextSocket();
  client = connect(url, { transports: ['websocket'], reconnection: false, parser });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
});

afterAll(async () => {
  client.disconnect();
  await ioServer.close();
});

const received = <T>(socket: { once(event: string, listener: (value: T) => void): unknown }, event: string): Promise<T> =>
  new Promise((resolve) => socket.once(event, resolve));

describe('rawEventParser', () => {
  it('carries the batch event both ways as one WebSocket message, bytes intact', async () => {
    const server = await serverSide;
    const messages: unknown[] = [];
    server.conn.on('message', (m: unknown) => messages.push(m));
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const atServer = received<Buffer>(server, 'fs');
    client.emit('fs', bytes);
    expect(Buffer.from(await atServer)).toEqual(bytes);
    expect(messages).toHaveLength(1);
    const atClient = received<Buffer>(client, 'fs');
    server.emit('fs', bytes.subarray(5, 10));
    expect(Buffer.from(await atClient)).toEqual(bytes.subarray(5, 10));
  });

  it('leaves other events alone: JSON with an ack, and a binary event of another name', async () => {
    const server = await serverSide;
    server.once('hello', (body: unknown, ack: (a: unknown) => void) => ack({ got: body }));
    expect(await client.timeout(2000).emitWithAck('hello', { version: '1' })).toEqual({ got: { version: '1' } });
    const atServer = received<Buffer>(server, 'f');
    client.emit('f', Buffer.from('one frame'));
    expect(Buffer.from(await atServer).toString()).toBe('one frame');
  });

  it('drops a connection that sends a binary message nobody announced and that is not a raw event', async () => {
    const accepted = nextSocket();
    const rogue = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true, parser });
    await received(rogue, 'connect');
    const socket = await accepted;
    const gone = received<string>(socket, 'disconnect');
    (rogue.io.engine as unknown as { write(data: Buffer): void }).write(Buffer.from([0x01, 0x02, 0x03]));
    expect(await gone).toBeTruthy();
    rogue.disconnect();
  });
});
