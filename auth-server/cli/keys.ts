import { parseArgs } from 'node:util';
import { isMain } from '../../common/is-main.ts';
import { loadKeysDir } from '../config.ts';
import { listKeys, rotateKeys, type ListedKey } from '../keys/key-store.ts';

const USAGE = `usage: npm run keys -- <command>

  rotate   add a new ES256 and RS256 signing key; they sign after the next restart
           of the auth server, the previous keys stay published so issued tokens keep verifying
  list     show the signing keys and which auth server start each one signs for

Reads KEYS_DIR (default ./keys).`;

/**
 * The `npm run keys` command.
 *
 * ```ts source="./keys.examples.ts#runKeysCli"
 * process.exitCode = await runKeysCli(['rotate'], process.env);
 * ```
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
    out.write(
      `added ${kids.join(', ')}\nThey sign after the next restart of the auth server (every instance); until then it signs with the keys it started with.\n`,
    );
    return 0;
  }
  if (command === 'list') {
    out.write(describeKeys(await listKeys(keysDir)));
    return 0;
  }
  err.write(`unknown command "${command}"\n${USAGE}\n`);
  return 2;
}

const USE: Record<string, string> = { ES256: 'access tokens', RS256: 'ID tokens' };
const when = (iso: string) => `${iso.slice(0, 19).replace('T', ' ')} UTC`;

/**
 * The key list, honest about what the CLI cannot see: a running auth server signs with the newest
 * key of each algorithm that existed when it started, and only the operator knows when that was.
 * So each key says which starts it signs for, rather than claiming to be "current".
 */
export function describeKeys(keys: ListedKey[]): string {
  const lines = [
    'An auth server signs with the newest key of each algorithm that existed when it started; a rotated key signs only after a restart.',
  ];
  for (const alg of [...new Set(keys.map((k) => k.alg))]) {
    lines.push('', `${alg} (${USE[alg] ?? 'signing'})`);
    for (const key of keys.filter((k) => k.alg === alg)) {
      const from = key.addedAt ? `started after ${when(key.addedAt)}` : undefined;
      const until = key.supersededAt ? `started before ${when(key.supersededAt)}` : undefined;
      let status: string;
      if (key.newest && !from) status = 'signs';
      else if (key.newest) status = `newest: signs after the next restart, unless the server restarted since ${when(key.addedAt!)}`;
      else if (until && from) status = `signs on a server ${from} and ${until}; published so its tokens keep verifying`;
      else if (until) status = `signs on a server ${until}; published so its tokens keep verifying`;
      else status = 'published so its tokens keep verifying';
      lines.push(`  ${key.kid}  ${status}`);
    }
  }
  return `${lines.join('\n')}\n`;
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
