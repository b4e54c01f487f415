import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { ScramSha256Client } from './scram.js';

// RFC 7677 §3 example exchange (user "user", password "pencil").
const RFC = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

const rfcClient = () => new ScramSha256Client({ username: 'user', password: 'pencil', nonce: RFC.clientNonce });

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('auth_failed');
    return (err as ProtocolError).message;
  }
  throw new Error('expected auth_failed');
}

describe('ScramSha256Client', () => {
  it('reproduces the RFC 7677 test vector', () => {
    const c = rfcClient();
    expect(c.clientFirstMessage()).toBe(RFC.clientFirst);
    expect(c.handleServerFirst(Buffer.from(RFC.serverFirst))).toBe(RFC.clientFinal);
    expect(c.finished).toBe(false);
    c.verifyServerFinal(RFC.serverFinal);
    expect(c.finished).toBe(true);
  });

  it('refuses a wrong server signature (a server that does not know the verifier)', () => {
    const c = rfcClient();
    c.clientFirstMessage();
    c.handleServerFirst(RFC.serverFirst);
    expect(failure(() => c.verifyServerFinal('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl96G4='))).toMatch(/signature mismatch/);
    // Fail closed: the client cannot be reused after a failure.
    expect(failure(() => c.verifyServerFinal(RFC.serverFinal))).toMatch(/state failed/);
  });

  it('refuses a server nonce that does not extend ours, or only repeats it', () => {
    const c = rfcClient();
    c.clientFirstMessage();
    expect(failure(() => c.handleServerFirst('r=someoneElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'))).toMatch(/nonce/);
    const d = rfcClient();
    d.clientFirstMessage();
    expect(failure(() => d.handleServerFirst(`r=${RFC.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`))).toMatch(/nonce/);
  });

  it('refuses malformed server-first messages and iteration counts out of bounds', () => {
    for (const bad of [
      'm=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'r=rOprNGfwEbeRWgbNEkqOxyz,s=not base64!,i=4096',
      'r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1',
      'r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1',
      'r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999',
      'r=rOprNGfwEbeRWgbNEkqOxyz,i=4096',
      '',
    ]) {
      const c = rfcClient();
      c.clientFirstMessage();
      failure(() => c.handleServerFirst(bad));
    }
  });

  it('surfaces a server-final error attribute', () => {
    const c = rfcClient();
    c.clientFirstMessage();
    c.handleServerFirst(RFC.serverFirst);
    expect(failure(() => c.verifyServerFinal('e=invalid-proof'))).toMatch(/invalid-proof/);
  });

  it('enforces the order of the exchange', () => {
    const c = rfcClient();
    failure(() => c.handleServerFirst(RFC.serverFirst));
    const d = rfcClient();
    d.clientFirstMessage();
    failure(() => d.clientFirstMessage());
  });

  it('uses a fresh random nonce by default and an empty, escaped user name', () => {
    const a = new ScramSha256Client({ password: 'x' }).clientFirstMessage();
    const b = new ScramSha256Client({ password: 'x' }).clientFirstMessage();
    expect(a).toMatch(/^n,,n=,r=[A-Za-z0-9+/]{24}$/);
    expect(a).not.toBe(b);
    expect(new ScramSha256Client({ password: 'x', username: 'a=b,c', nonce: 'n' }).clientFirstMessage()).toBe('n,,n=a=3Db=2Cc,r=n');
  });
});
