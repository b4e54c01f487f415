/** OpenSSH reads a password or prompt answer into a 1024-byte buffer: longer tokens arrive cut at 1023. */
export const OPENSSH_ANSWER_LIMIT = 1023;
export const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Puts a token together from keyboard-interactive answers. An answer exactly as long as OpenSSH's
 * limit was probably cut, so the endpoint asks for the rest; any shorter answer ends the token.
 */
export class TokenAnswers {
  private readonly parts: string[] = [];
  private length = 0;

  /** Adds one answer; returns the whole token, or undefined when the next part should be asked for. */
  add(answer: string): string | undefined {
    this.parts.push(answer);
    this.length += answer.length;
    if (answer.length === OPENSSH_ANSWER_LIMIT && this.length < MAX_TOKEN_LENGTH) return undefined;
    return this.parts.join('').trim();
  }
}
