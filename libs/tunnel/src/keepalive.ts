import { randomBytes, timingSafeEqual } from 'node:crypto';
import { PING_NONCE_BYTES } from './limits.js';

export interface KeepaliveOptions {
  intervalMs: number;
  timeoutMs: number;
  sendPing(nonce: Uint8Array): void;
  onTimeout(): void;
}

/** Sends a PING every interval and reports a timeout when its PONG does not come back in time. */
export class Keepalive {
  private interval: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private outstanding: Uint8Array | undefined;

  constructor(private readonly options: KeepaliveOptions) {}

  start(): void {
    if (this.interval) return;
    // unref: a tunnel must never be the only thing keeping the process alive.
    this.interval = setInterval(() => this.tick(), this.options.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.interval);
    clearTimeout(this.deadline);
    this.interval = undefined;
    this.deadline = undefined;
    this.outstanding = undefined;
  }

  /** Returns whether the nonce answered the outstanding PING. */
  onPong(nonce: Uint8Array): boolean {
    const expected = this.outstanding;
    if (!expected || nonce.length !== expected.length || !timingSafeEqual(nonce, expected)) return false;
    this.outstanding = undefined;
    clearTimeout(this.deadline);
    this.deadline = undefined;
    return true;
  }

  private tick(): void {
    if (this.outstanding) return; // the deadline timer decides
    const nonce = randomBytes(PING_NONCE_BYTES);
    this.outstanding = nonce;
    this.deadline = setTimeout(() => {
      this.stop();
      this.options.onTimeout();
    }, this.options.timeoutMs).unref();
    this.options.sendPing(nonce);
  }
}
