import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { isMain } from '../../common/is-main.ts';
import { loadConfig, type AuthServerConfig } from '../config.ts';
import { RotationTooSoonError } from '../keys/signing-key-set.ts';
import { SigningKeyStoreError } from '../keys/signing-key-store.ts';
import { listSigningKeys, migrateSigningKeys, openSigningKeys, rotateSigningKeys, type ListedSigningKey } from '../keys/signing-keys.ts';
import { openStorage } from '../storage/open-storage.ts';
import type { Storage } from '../storage/store.ts';

const USAGE = `usage: npm run keys -- <command>

  rotate [--force]            the next keys sign from now on, on every running auth server within
                              AUTH_KEY_POLL_SECONDS (no restart); the active keys retire (published
                              until their tokens expire) and new next keys are published.
                              Refused while the next keys are younger than AUTH_KEY_MIN_NEXT_AGE,
                              unless --force (a compromised key: accept that stale caches may refuse
                              some tokens for a moment)
  list                        the signing keys, their states and when each state ends
  migrate --to database|file  copy the key set to the other store (then set AUTH_KEY_STORE and
                              restart the auth servers)

Reads the auth server's settings: KEYS_DIR, AUTH_KEY_STORE, DATABASE_URL / DATA_DIR,
AUTH_ENCRYPTION_KEY.`;

/**
 * The `npm run keys` command.
 *
 * ```ts source="./keys.examples.ts#runKeysCli"
 * process.exitCode = await runKeysCli(['rotate'], process.env);
 * ```
 */
export async function runKeysCli(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out = process.stdout,
  err = process.stderr,
  now: () => Date = () => new Date(),
): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, force: { type: 'boolean' }, to: { type: 'string' } },
  });
  const [command] = positionals;
  if (values.help || !command) {
    (values.help ? out : err).write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (!['rotate', 'list', 'migrate'].includes(command)) {
    err.write(`unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  if (command === 'migrate' && values.to !== 'database' && values.to !== 'file') {
    err.write(`migrate needs --to database or --to file\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(env);
  // The database is opened only when a command needs it: a file-store `list` works without one.
  let storage: Storage | undefined;
  const openDb = async () => (storage ??= await openStorage(config));
  try {
    const needsDb = config.signingKeys.store === 'database' || command === 'migrate';
    const keys = await openSigningKeys(config, needsDb ? await openDb() : undefined, now);
    if (command === 'rotate') {
      const result = await rotateSigningKeys(keys, { actor: `cli:${userInfo().username}`, force: values.force });
      const listed = await listSigningKeys(keys);
      const until = listed.find((k) => result.retired.includes(k.kid))?.until;
      out.write(
        [
          `signing now: ${result.activated.join(', ')}`,
          `retiring: ${result.retired.join(', ')}${until ? ` (published until ${when(until)}, when every token they signed has expired)` : ''}`,
          `next (published, not signing yet): ${result.created.join(', ')}`,
          ...(result.removed.length ? [`removed (every token they signed has expired): ${result.removed.join(', ')}`] : []),
          `Every running auth server signs with the new keys within ${seconds(config)} (AUTH_KEY_POLL_SECONDS); no restart.`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    if (command === 'list') {
      out.write(describeSigningKeys(await listSigningKeys(keys), keys.store.description, config));
      return 0;
    }
    const target = values.to as 'database' | 'file';
    if (target === config.signingKeys.store) {
      err.write(
        `the keys are already in the ${target} store (AUTH_KEY_STORE=${config.signingKeys.store}); set AUTH_KEY_STORE to where they are now\n`,
      );
      return 2;
    }
    const to = await openSigningKeys({ ...config, signingKeys: { ...config.signingKeys, store: target } }, await openDb(), now);
    const from = keys;
    const { kids } = await migrateSigningKeys(from, to);
    out.write(
      `copied ${kids.length} signing keys to ${to.store.description}.\n` +
        `Now set AUTH_KEY_STORE=${target} on every auth server and restart them; ${from.store.description} is marked migrated, ` +
        'so a server still reading it refuses to start.\n',
    );
    return 0;
  } catch (error) {
    if (error instanceof RotationTooSoonError || error instanceof SigningKeyStoreError) {
      err.write(`keys: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await storage?.close();
  }
}

const when = (iso: string) => `${iso.slice(0, 19).replace('T', ' ')} UTC`;
const seconds = (config: AuthServerConfig) => `${config.signingKeys.pollMs / 1000} s`;

/**
 * The key list as stored. Honest because it is what runs: every instance follows the stored set
 * within AUTH_KEY_POLL_SECONDS, so "active" means "signs", not "signs after a restart".
 */
export function describeSigningKeys(keys: ListedSigningKey[], store: string, config: AuthServerConfig): string {
  const lines = [`Signing keys in ${store}; every running auth server follows this set within ${seconds(config)}.`];
  for (const alg of [...new Set(keys.map((k) => k.alg))]) {
    lines.push('', `${alg} (${keys.find((k) => k.alg === alg)!.signs})`);
    for (const key of keys.filter((k) => k.alg === alg)) {
      let status: string;
      if (key.state === 'active') status = `active: signs (since ${when(key.activatedAt ?? key.createdAt)})`;
      else if (key.state === 'next') status = `next: published, signs after the next rotation (possible from ${when(key.until!)})`;
      else if (key.state === 'retiring') status = `retiring: no longer signs, published until ${when(key.until!)}, then removed`;
      else status = `expired: its tokens have all expired, no longer published; removed at the next rotation`;
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
