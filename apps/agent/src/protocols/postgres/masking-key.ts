import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The HMAC key for the `hash` mask style: the configured one, else one generated once and kept in
 * the spool directory, so that hashes stay stable across sessions and restarts.
 */
export function loadMaskingKey(configured: string | undefined, spoolDir: string): Buffer {
  if (configured !== undefined) {
    const key = Buffer.from(configured, 'utf8');
    if (key.length < 16) throw new Error('postgres.maskingKey must be at least 16 bytes');
    return key;
  }
  const file = join(spoolDir, 'masking.key');
  try {
    const existing = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (existing.length >= 16) return existing;
  } catch {
    // not there yet
  }
  mkdirSync(spoolDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600, flag: 'w' });
  return key;
}
