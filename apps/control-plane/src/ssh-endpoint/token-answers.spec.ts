import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_LENGTH, OPENSSH_ANSWER_LIMIT, TokenAnswers } from './token-answers.js';

describe('TokenAnswers', () => {
  it('takes a short answer as the whole token', () => {
    expect(new TokenAnswers().add('eyJ.short.sig\n')).toBe('eyJ.short.sig');
  });

  it('asks for more while answers fill OpenSSH\'s buffer, then joins them', () => {
    const token = 'x'.repeat(2 * OPENSSH_ANSWER_LIMIT + 10);
    const answers = new TokenAnswers();
    expect(answers.add(token.slice(0, OPENSSH_ANSWER_LIMIT))).toBeUndefined();
    expect(answers.add(token.slice(OPENSSH_ANSWER_LIMIT, 2 * OPENSSH_ANSWER_LIMIT))).toBeUndefined();
    expect(answers.add(token.slice(2 * OPENSSH_ANSWER_LIMIT))).toBe(token);
  });

  it('stops asking at the size limit', () => {
    const answers = new TokenAnswers();
    let result: string | undefined;
    let rounds = 0;
    while (result === undefined) {
      result = answers.add('y'.repeat(OPENSSH_ANSWER_LIMIT));
      rounds++;
    }
    expect(rounds).toBe(Math.ceil(MAX_TOKEN_LENGTH / OPENSSH_ANSWER_LIMIT));
  });
});
