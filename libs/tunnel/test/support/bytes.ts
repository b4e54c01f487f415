import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';

/** Deterministic PRNG (mulberry32) so fuzz and payload tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytesSeeded(rand: () => number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Read a stream to its end, returning the SHA-256 and byte count. */
export function digestStream(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    stream.once('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
    stream.once('error', reject);
  });
}

/**
 * Write `total` pseudo-random bytes in chunks, honouring backpressure, then end.
 * Resolves with the SHA-256 of what was written.
 */
export async function writeGenerated(stream: Writable, total: number, seed: number, chunkSize = 64 * 1024): Promise<string> {
  const hash = createHash('sha256');
  // One random block reused with a varying prefix keeps generation cheap for 100 MiB.
  const block = randomBytesSeeded(prng(seed), chunkSize);
  let written = 0;
  let counter = 0;
  while (written < total) {
    const n = Math.min(chunkSize, total - written);
    const chunk = Buffer.from(block.subarray(0, n));
    if (n >= 4) chunk.writeUInt32BE(counter++ >>> 0, 0);
    hash.update(chunk);
    written += n;
    if (!stream.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          stream.off('error', onError);
          resolve();
        };
        const onError = (error: Error): void => {
          stream.off('drain', onDrain);
          reject(error);
        };
        stream.once('drain', onDrain);
        stream.once('error', onError);
      });
    }
  }
  await new Promise<void>((resolve) => stream.end(resolve));
  return hash.digest('hex');
}
