import { readFileSync } from 'node:fs';
import type { z } from 'zod';

/**
 * The JSON files that env vars name (AUTH_UPSTREAMS, AUTH_TRUSTED_IDPS, AUTH_ID_JAG_TARGETS): read
 * once at start, and every problem reported as one line starting with the variable and the place
 * in the file (`AUTH_UPSTREAMS[1].tokenUrl: …`), in the style of the env config.
 */
export function readJsonConfigFile(
  variable: string,
  file: string,
): { raw: unknown; problem?: undefined } | { raw?: undefined; problem: string } {
  try {
    return { raw: JSON.parse(readFileSync(file, 'utf8')) };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    return { problem: `${variable}: cannot read ${file}: ${reason}` };
  }
}

/** One line per zod issue, named by the variable and the issue's path (`[0].issuer`). */
export function schemaProblems(variable: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => `${variable}${pathOf(issue.path)}: ${issue.message}`);
}

function pathOf(path: PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
}
