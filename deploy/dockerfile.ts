/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  keyword: string;
  /** Everything after the keyword. */
  args: string;
  line: number;
}

/**
 * Splits a Dockerfile into instructions (comments dropped, `\` continuations joined).
 *
 * @example
 * parseDockerfile('FROM node:24-slim\nCMD ["node", "main.ts"]')[1] // → { keyword: 'CMD', args: '["node", "main.ts"]', line: 2 }
 */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1).trim() : line;
    pending = pending ? { text: `${pending.text} ${body}`, line: pending.line } : { text: body, line: index + 1 };
    if (continued) return;
    const [keyword = '', ...rest] = pending.text.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: pending.line });
    pending = undefined;
  });
  return instructions;
}

/** The image's environment: every `ENV key=value …` in order (values may be quoted). */
export function imageEnv(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions.filter((i) => i.keyword === 'ENV')) {
    for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S+)/g)) {
      env[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, '$2');
    }
  }
  return env;
}

/** The exec-form (JSON array) command of the last CMD, or of the HEALTHCHECK's CMD. */
export function execForm(instructions: Instruction[], keyword: 'CMD' | 'HEALTHCHECK'): string[] | undefined {
  const last = instructions.filter((i) => i.keyword === keyword).at(-1);
  if (!last) return undefined;
  const json = keyword === 'HEALTHCHECK' ? /\bCMD\s+(\[.*\])\s*$/.exec(last.args)?.[1] : last.args;
  if (!json) return undefined;
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error(`${keyword} is not an exec-form array`);
  return parsed;
}
