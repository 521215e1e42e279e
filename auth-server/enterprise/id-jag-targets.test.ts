import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config-error.ts';
import { loadConfig } from '../config.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'id-jag-targets-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(content: unknown): Promise<string> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify(content));
  return path;
}

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('AUTH_ID_JAG_TARGETS: the authorization servers we issue ID-JAGs for', () => {
  it('reads a target with its defaults (300 s, any scope the client asks for)', async () => {
    const path = await file([
      { audience: 'https://auth.chat.example/', resources: ['https://mcp.chat.example/'], clients: { ours: 'theirs' } },
    ]);
    expect(loadConfig({ AUTH_ID_JAG_TARGETS: path }).idJagTargets).toEqual([
      {
        audience: 'https://auth.chat.example/',
        resources: ['https://mcp.chat.example/'],
        clients: { ours: 'theirs' },
        scopes: undefined,
        lifetime: 300,
      },
    ]);
    expect(loadConfig({}).idJagTargets).toEqual([]);
  });

  it('names every problem at once, with the environment’s', async () => {
    const path = await file([
      { audience: 'nope', resources: [], clients: 'all', lifetimeSeconds: 5, extra: true },
      { audience: 'https://twice.example', resources: ['https://mcp.example/'], clients: '*', scopes: ['has space'] },
    ]);
    expect(problems({ AUTH_ID_JAG_TARGETS: path, AUTH_PORT: 'x' })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AUTH_PORT/),
        'AUTH_ID_JAG_TARGETS[0].audience: must be an absolute URL',
        'AUTH_ID_JAG_TARGETS[0].resources: must name at least one resource',
        'AUTH_ID_JAG_TARGETS[0].clients: must be "*" or an object mapping our client ids to their client ids there',
        expect.stringMatching(/^AUTH_ID_JAG_TARGETS\[0\]\.lifetimeSeconds/),
        expect.stringMatching(/^AUTH_ID_JAG_TARGETS\[0\]: Unrecognized key.*extra/),
        'AUTH_ID_JAG_TARGETS[1].scopes[0]: must be one scope without spaces',
      ]),
    );
    const twice = await file([
      { audience: 'https://twice.example', resources: ['https://mcp.example/'], clients: '*' },
      { audience: 'https://twice.example', resources: ['https://mcp.example/'], clients: '*' },
    ]);
    expect(problems({ AUTH_ID_JAG_TARGETS: twice })).toEqual(['AUTH_ID_JAG_TARGETS[1].audience: "https://twice.example" is listed twice']);
  });
});
