import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from './key-pair.js';

describe('generateEd25519KeyPair', () => {
  it('every pair parses back (ssh2 alone fails about once in 200)', () => {
    for (let i = 0; i < 1000; i++) {
      const pair = generateEd25519KeyPair('test');
      const parsed = ssh2.utils.parseKey(pair.private);
      expect(parsed).not.toBeInstanceOf(Error);
      expect(pair.public.startsWith('ssh-ed25519 ')).toBe(true);
    }
  });
});
