import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const { nodeVersionProblem } = createRequire(import.meta.url)('./require-node.cjs') as {
  nodeVersionProblem(v: string): string | undefined;
};

describe('the Node version check every npm entry point preloads', () => {
  it('names the required version and the one found, for Node older than 22.18', () => {
    expect(nodeVersionProblem('20.20.2')).toMatch(/needs Node\.js 22\.18 or newer .*this is Node\.js 20\.20\.2/);
    expect(nodeVersionProblem('22.17.9')).toContain('this is Node.js 22.17.9');
    expect(nodeVersionProblem('18.0.0')).toBeDefined();
  });

  it('lets 22.18 and newer through', () => {
    for (const version of ['22.18.0', '22.20.1', '23.0.0', '24.22.3', '26.1.0']) expect(nodeVersionProblem(version)).toBeUndefined();
  });

  it('is silent on this Node when preloaded', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['-r', './common/require-node.cjs', '-e', 'console.log("ran")']);
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe('ran');
  });
});
