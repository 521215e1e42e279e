#!/usr/bin/env node
// The mcp-oauth command-line client (issue 10): `npm run client -- <command>`, or `mcp-oauth`
// after `npm install -g .` from a checkout.
import { parse } from './args.ts';
import { call, login, logout, status, tools, type Io } from './commands.ts';
import { COMMAND_HELP, GLOBAL_HELP } from './help.ts';
import { isMain } from '../common/is-main.ts';
import { CliError } from './http.ts';
import { defaultCacheDir, Store } from './store.ts';

export async function run(argv: string[], io: Io): Promise<number> {
  try {
    const parsed = parse(argv);
    if (parsed.help || !parsed.command) {
      io.out(parsed.command ? COMMAND_HELP[parsed.command]! : GLOBAL_HELP);
      return parsed.help ? 0 : 2;
    }
    switch (parsed.command) {
      case 'login':
        return await login(parsed, io);
      case 'tools':
        return await tools(parsed, io);
      case 'call':
        return await call(parsed, io);
      case 'logout':
        return await logout(parsed, io);
      case 'status':
        return await status(parsed, io);
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`mcp-oauth: ${error.message}`);
      return error.exitCode;
    }
    // Not ours to explain: one line, and the stack only with --verbose.
    io.err(`mcp-oauth: unexpected error: ${(error as Error)?.message ?? String(error)}`);
    if (argv.includes('--verbose') || argv.includes('-v')) io.err(String((error as Error)?.stack));
    return 1;
  }
}

if (isMain(import.meta.url)) {
  // `mcp-oauth tools … | head`: a closed pipe ends the output, not with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const io: Io = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    // MCP_OAUTH_INTERACTIVE=1: someone will answer a sign-in prompt though this is no terminal
    // (a headless browser in a test, a wrapper script that shows the URL).
    interactive: process.env.MCP_OAUTH_INTERACTIVE === '1' || (!!process.stdin.isTTY && !!process.stderr.isTTY),
    stderrIsTty: !!process.stderr.isTTY,
    store: new Store(defaultCacheDir()),
  };
  process.exitCode = await run(process.argv.slice(2), io);
}
