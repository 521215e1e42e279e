import { describe, expect, it } from 'vitest';
import { demoAccountLines, isDemoAccountHint, parseDemoAccount } from './demo-user.ts';

describe('the demo-account line: one printer, one parser', () => {
  const demo = { username: 'demo', password: 'Zx3_q-9Lk2mA' };

  it('reads back what it prints, and recognises the hint under it', () => {
    const [line, hint] = demoAccountLines(demo);
    expect(line).toBe('  Demo account created — username: demo  password: Zx3_q-9Lk2mA');
    expect(parseDemoAccount(line!)).toEqual(demo);
    expect(parseDemoAccount(`\n${demoAccountLines(demo).join('\n')}\n\n`)).toEqual(demo);
    expect(isDemoAccountHint(hint!)).toBe(true);
    expect(isDemoAccountHint(line!)).toBe(false);
  });

  it('finds it behind a log collector’s prefix, and nowhere else', () => {
    expect(parseDemoAccount(`auth-server-1  | ${demoAccountLines(demo)[0]}`)).toEqual(demo);
    expect(parseDemoAccount('{"level":30,"msg":"auth server ready"}\nSign in with an account from DATA_DIR')).toBeUndefined();
  });
});
