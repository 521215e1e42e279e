import { describe, expect, it } from 'vitest';
import { InvalidAccountError } from '../storage/store.ts';
import { checkPasswordPolicy, PASSWORD_POLICY, WeakPasswordError } from './password-policy.ts';

/** The problem the policy reports for `password`, or 'ok'. */
function verdict(password: string, account: { username: string; roles?: string[] } = { username: 'alice' }) {
  try {
    checkPasswordPolicy(password, account);
    return 'ok';
  } catch (error) {
    if (!(error instanceof WeakPasswordError)) throw error;
    return error.problem;
  }
}

describe('checkPasswordPolicy', () => {
  it('accepts a long passphrase that is on no list', () => {
    expect(verdict('correct horse battery staple')).toBe('ok');
    expect(verdict('correct horse battery staple', { username: 'alice', roles: ['admin'] })).toBe('ok');
  });

  it('refuses fewer than 8 characters and accepts exactly 8', () => {
    expect(verdict('')).toBe('too_short');
    expect(verdict('s3cr3t!')).toBe('too_short');
    expect(verdict('xq7#mv2p')).toBe('ok');
  });

  it('refuses an admin password under 15 characters that would do for anyone else', () => {
    const admin = { username: 'alice', roles: ['user', 'admin'] };
    expect(verdict('xq7#mv2p-Lr9zk', admin)).toBe('too_short'); // 14
    expect(verdict('xq7#mv2p-Lr9zk', { username: 'alice', roles: ['user'] })).toBe('ok');
    expect(verdict('xq7#mv2p-Lr9zkT', admin)).toBe('ok'); // 15
  });

  it('refuses more than 256 characters and accepts exactly 256', () => {
    const long = 'correct horse battery staple '.repeat(10);
    expect(verdict(long.slice(0, 257))).toBe('too_long');
    expect(verdict(long.slice(0, 256))).toBe('ok');
  });

  it('counts characters (code points after NFC), not UTF-16 units or bytes', () => {
    // Seven emoji are 14 UTF-16 units but 7 characters: too short; eight will do.
    expect(verdict('\u{1F511}'.repeat(7))).toBe('too_short');
    expect(verdict('\u{1F511}'.repeat(8))).toBe('ok');
    // "é" typed as e + combining accent is one character after NFC: 7, too short.
    expect(verdict('cafe\u0301bar')).toBe('too_short');
    expect(verdict('caf\u00e9bars')).toBe('ok');
  });

  it('refuses the most common passwords, whatever their case', () => {
    for (const common of [
      'password',
      'iloveyou',
      '12345678',
      'qwertyuiop',
      '1qaz2wsx',
      'PASSWORD1',
      'Sunshine',
      'trustno1',
      'aaaaaaaa',
      '87654321',
    ]) {
      expect(verdict(common), common).toBe('common');
    }
  });

  it('refuses the username as the password, whatever its case', () => {
    expect(verdict('Alexander-the-Great', { username: 'alexander-the-great' })).toBe('username');
  });

  it('checks the admin length first, so the message names the rule that applies', () => {
    expect(() => checkPasswordPolicy('password', { username: 'root', roles: ['admin'] })).toThrow(
      'password refused: accounts with the admin role need at least 15 characters',
    );
  });

  it('says what is wrong in one stable line, as an InvalidAccountError', () => {
    const messages = ['short', 'password', 'x'.repeat(PASSWORD_POLICY.maxLength + 1)].map((password) => {
      try {
        checkPasswordPolicy(password, { username: 'alice' });
        return undefined;
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidAccountError);
        return (error as Error).message;
      }
    });
    expect(messages).toEqual([
      'password refused: use at least 8 characters',
      'password refused: it is on the list of the most common passwords; choose another',
      'password refused: use at most 256 characters',
    ]);
  });
});
