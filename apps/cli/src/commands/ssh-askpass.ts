import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentCredentials } from '../acquire/credentials.js';
import { configDir } from '../settings.js';
import type { CliContext } from './context.js';

/** OpenSSH reads an askpass answer into a 1024-byte buffer: at most 1023 characters arrive. */
const OPENSSH_ANSWER_LIMIT = 1023;

/**
 * `SSH_ASKPASS` program for the gateway's SSH endpoint: answers its keyboard-interactive prompts with
 * the credential (`<token>~<attestation>` when an attestation is saved), 1023 characters per prompt.
 * The endpoint asks "(continued)" while an answer fills OpenSSH's buffer; which piece comes next is
 * kept per ssh process (the askpass's parent) in the config directory.
 */
export async function sshAskpassCommand(ctx: CliContext, prompt: string | undefined, parentPid: number = process.ppid): Promise<void> {
  const credentials = await currentCredentials(ctx.env);
  const credential = credentials.attestation !== undefined ? `${credentials.token}~${credentials.attestation}` : credentials.token;
  mkdirSync(configDir(ctx.env), { recursive: true, mode: 0o700 });
  const stateFile = join(configDir(ctx.env), `askpass-${parentPid}.json`);
  let piece = 0;
  if (prompt?.includes('(continued)')) {
    try {
      piece = (JSON.parse(readFileSync(stateFile, 'utf8')) as { piece: number }).piece + 1;
    } catch {
      piece = 1;
    }
  }
  const text = credential.slice(piece * OPENSSH_ANSWER_LIMIT, (piece + 1) * OPENSSH_ANSWER_LIMIT);
  if (text.length === OPENSSH_ANSWER_LIMIT) writeFileSync(stateFile, JSON.stringify({ piece }), { mode: 0o600 });
  else rmSync(stateFile, { force: true });
  ctx.out(`${text}\n`);
}
