import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** Bad usage of a CLI (unknown command or option, wrong operands): exit code 2 with one line. */
export class UsageError extends Error {}

/** Per command: how many operands it takes and which options it accepts. */
export type CommandTable = Record<string, { operands: number; options: readonly string[] }>;

/**
 * parseArgs' own messages are clear ("Unknown option '--x'"); only their class is wrong for us,
 * and their first sentence is enough: the rest is advice about '--' that does not apply here.
 */
export function usageErrorFrom(parseArgsError: unknown): UsageError {
  return new UsageError((parseArgsError as Error).message.split(/\.\s/)[0]!);
}

/** parseArgs, strict and with positionals, its mistakes turned into UsageErrors: for every CLI here. */
export function parseStrict<T extends ParseArgsOptionsConfig>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageErrorFrom(error);
  }
}

/**
 * Checks `<command> [operand]` and the options given against a table of commands, for
 * `npm run users` and `npm run clients`: every mistake is a UsageError with one clear sentence.
 */
export function checkCommand(
  positionals: string[],
  values: Record<string, unknown>,
  commands: CommandTable,
  operandName: string,
): 'help' | { command: string; operands: string[] } {
  const [command, ...operands] = positionals;
  if (values.help || command === 'help') return 'help';
  if (!command) throw new UsageError('missing command');
  const allowed = commands[command];
  if (!allowed) throw new UsageError(`unknown command "${command}"`);
  if (operands.length !== allowed.operands) {
    throw new UsageError(allowed.operands === 0 ? `${command} takes no arguments` : `${command} needs exactly one ${operandName}`);
  }
  const stray = Object.keys(values).filter((key) => !allowed.options.includes(key));
  if (stray.length > 0) throw new UsageError(`${command} does not take --${stray.join(', --')}`);
  return { command, operands };
}
