import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface MetadataDocumentServer {
  /** The client_id: the https URL of the document. */
  clientId: string;
  /** The self-signed certificate (PEM path) to trust: NODE_EXTRA_CA_CERTS for the auth server. */
  certPath: string;
  /** How many times the document was fetched. */
  fetches(): number;
  close(): Promise<void>;
}

/**
 * Generates a throwaway self-signed certificate for 127.0.0.1 in `dir` (openssl CLI).
 *
 * @example
 * const { certPath, keyPath } = await selfSignedCertificate(dir);
 */
export async function selfSignedCertificate(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { certPath, keyPath };
}

/**
 * Serves a Client ID Metadata Document over https on 127.0.0.1 with that certificate. The
 * document's client_id is its own URL, as the draft requires.
 */
export async function serveMetadataDocument(
  tls: { certPath: string; keyPath: string },
  port: number,
  metadata: Record<string, unknown>,
): Promise<MetadataDocumentServer> {
  const clientId = `https://127.0.0.1:${port}/oauth/client-metadata.json`;
  const body = JSON.stringify({ client_id: clientId, ...metadata });
  let fetches = 0;
  const server = createServer({ cert: await readFile(tls.certPath), key: await readFile(tls.keyPath) }, (req, res) => {
    if (req.method === 'GET' && req.url === new URL(clientId).pathname) {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
      res.end(body);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((done, fail) => server.once('error', fail).listen(port, '127.0.0.1', done));
  return {
    clientId,
    certPath: tls.certPath,
    fetches: () => fetches,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
