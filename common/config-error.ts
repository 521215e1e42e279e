import type { ZodError } from 'zod';

/** Thrown when the environment does not describe a runnable server; one line per problem. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }

  /** Turns zod issues into messages that name the environment variable at fault. */
  static fromZod(error: ZodError): ConfigError {
    return new ConfigError(
      error.issues.map((issue) => {
        const key = issue.path.join('.') || '(environment)';
        return `${key}: ${issue.message}`;
      }),
    );
  }
}
