import { ProtocolError } from './errors.js';
import type { AuthenticationResponse } from './frontend-messages.js';
import { Reader } from './reader.js';

/** Reads a 'p' message as a PasswordMessage (cleartext or "md5..." hash). */
export function decodePassword(message: AuthenticationResponse): string {
  const r = new Reader(message.data, 0, message.data.length, 'PasswordMessage');
  const password = r.cstring('password');
  r.done();
  return password;
}

export interface SASLInitialResponse {
  readonly mechanism: string;
  /** null when the client sent length -1 (no initial response). */
  readonly initialResponse: Buffer | null;
}

/** Reads a 'p' message as the SASLInitialResponse that answers AuthenticationSASL. */
export function decodeSASLInitialResponse(message: AuthenticationResponse): SASLInitialResponse {
  const r = new Reader(message.data, 0, message.data.length, 'SASLInitialResponse');
  const mechanism = r.cstring('mechanism');
  if (mechanism === '') throw new ProtocolError('invalid_value', 'SASLInitialResponse: empty mechanism name');
  const initialResponse = r.nullableBytes('initial response');
  r.done();
  return { mechanism, initialResponse };
}

/** Reads a 'p' message as a SASLResponse (the body is the SASL payload itself). */
export function decodeSASLResponse(message: AuthenticationResponse): Buffer {
  return message.data;
}
