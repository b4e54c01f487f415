import { pino, type Logger } from 'pino';

/**
 * Paths redacted from every log line. Secrets are also SecretValue objects that serialize as
 * `[redacted]`; this list catches raw strings that travel under the usual names.
 */
export const REDACT_PATHS = [
  'credential',
  'token',
  'password',
  'secret',
  'clientSecret',
  'grant',
  'authorization',
  '*.credential',
  '*.token',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.grant',
  '*.authorization',
  '*.credentials',
  'headers.authorization',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { name: 'gw-agent', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
