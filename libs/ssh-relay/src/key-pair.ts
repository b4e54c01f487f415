import ssh2 from 'ssh2';

const MAX_ATTEMPTS = 10;

/**
 * An Ed25519 key pair in OpenSSH format that ssh2 can read back. ssh2 1.17's own generator writes a
 * private key its parser refuses ("Malformed OpenSSH private key") about once in 200 calls (measured:
 * 15 of 3000): a session certificate or a host key made from such a pair fails at random. Each pair
 * is checked by parsing it, and a refused one is made again.
 */
export function generateEd25519KeyPair(comment?: string): { private: string; public: string } {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', comment !== undefined ? { comment } : {});
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error(`could not generate a readable Ed25519 key in ${MAX_ATTEMPTS} attempts`);
}
