import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readOrCreate } from './key-store.ts';

/** In KEYS_DIR, mode 0600, git-ignored with the other keys. */
export const RESOURCE_SERVER_CLIENT_FILE = 'resource-server-client.json';
const DEFAULT_CLIENT_ID = 'mcp-resource-server';

export interface ResourceServerCredentials {
  client_id: string;
  client_secret: string;
}

/**
 * The development stack's resource-server client credentials (`npm start`): generated once into
 * KEYS_DIR and read back on every later start, so both servers agree without any setup.
 *
 * ```ts source="./resource-server-client-file.examples.ts#loadOrCreateResourceServerCredentials"
 * const { client_id, client_secret } = await loadOrCreateResourceServerCredentials('./keys');
 * ```
 */
export async function loadOrCreateResourceServerCredentials(keysDir: string): Promise<ResourceServerCredentials> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const path = join(keysDir, RESOURCE_SERVER_CLIENT_FILE);
  const credentials = await readOrCreate<ResourceServerCredentials>(path, async () => ({
    client_id: DEFAULT_CLIENT_ID,
    client_secret: randomBytes(32).toString('base64url'),
  }));
  if (typeof credentials?.client_id !== 'string' || typeof credentials.client_secret !== 'string') {
    throw new Error(`${path} must hold {"client_id": …, "client_secret": …}; remove it to generate new ones`);
  }
  return credentials;
}
