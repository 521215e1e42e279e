import { parseArgs } from 'node:util';
import { isMain } from '../../common/is-main.ts';
import { loadKeysDir } from '../config.ts';
import { listKeys, rotateKeys } from '../keys/key-store.ts';

const USAGE = `usage: npm run keys -- <command>

  rotate   add a new ES256 and RS256 signing key; they sign after the next restart,
           the previous keys stay published so issued tokens keep verifying
  list     show the signing keys (the first of each algorithm is current)

Reads KEYS_DIR (default ./keys).`;

/**
 * The `npm run keys` command.
 *
 * @example
 * process.exitCode = await runKeysCli(['rotate'], process.env);
 */
export async function runKeysCli(argv: string[], env: NodeJS.ProcessEnv, out = process.stdout, err = process.stderr): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  const [command] = positionals;
  if (values.help || !command) {
    (values.help ? out : err).write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const keysDir = loadKeysDir(env);
  if (command === 'rotate') {
    const kids = await rotateKeys(keysDir);
    out.write(`added ${kids.join(', ')}\nrestart the auth server to sign with the new keys\n`);
    return 0;
  }
  if (command === 'list') {
    for (const key of await listKeys(keysDir)) {
      out.write(`${key.current ? '*' : ' '} ${key.alg.padEnd(6)} ${key.kid}\n`);
    }
    return 0;
  }
  err.write(`unknown command "${command}"\n${USAGE}\n`);
  return 2;
}

if (isMain(import.meta.url)) {
  runKeysCli(process.argv.slice(2), process.env).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`keys: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
