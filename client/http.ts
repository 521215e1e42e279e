import * as oauth from 'oauth4webapi';

/** Thrown for every problem the user can act on: printed as one line, no stack trace. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Loopback hosts: the only ones allowed over plain http (a local stack, the conformance mocks). */
export function isLoopback(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.endsWith('.localhost');
}

/** Refuses http:// except on loopback: tokens and codes must not cross a network in clear. */
export function checkTransport(url: URL, what: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopback(url)) return;
  throw new CliError(`${what} ${url.href} is not https (plain http is allowed on loopback only)`);
}

const SECRET_FIELDS =
  /("(?:access_token|refresh_token|id_token|device_code|client_secret|code|code_verifier|client_assertion)"\s*:\s*")[^"]*(")/g;
const SECRET_PARAMS =
  /\b(access_token|refresh_token|id_token|device_code|client_secret|code|code_verifier|token|client_assertion)=[^&\s]*/g;

/** Hides tokens, codes and secrets in a logged body or URL. */
export function redact(text: string): string {
  return text.replace(SECRET_FIELDS, '$1[redacted]$2').replace(SECRET_PARAMS, '$1=[redacted]');
}

function redactHeader(name: string, value: string): string {
  // Authorization keeps its scheme word (Bearer or DPoP); a DPoP proof or a cookie has none to keep.
  if (/^authorization$/i.test(name)) return `${value.split(' ')[0]} [redacted]`;
  if (/^(dpop|cookie|set-cookie)$/i.test(name)) return '[redacted]';
  return value;
}

/**
 * The fetch every request goes through (OAuth and MCP alike): with --verbose it prints each
 * exchange on stderr, tokens redacted; it gives connection failures a readable message.
 */
export function makeFetch(verbose: boolean, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    if (verbose) {
      write(`> ${request.method} ${redact(request.url)}`);
      request.headers.forEach((value, name) => write(`>   ${name}: ${redactHeader(name, value)}`));
      if (init?.body && typeof init.body === 'string') write(`>   ${redact(init.body)}`);
      else if (init?.body instanceof URLSearchParams) write(`>   ${redact(init.body.toString())}`);
    }
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      if (error instanceof Error && error.name === 'AbortError') throw error;
      throw new CliError(`cannot reach ${new URL(request.url).origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    if (verbose) {
      write(`< ${response.status} ${response.statusText} (${request.method} ${redact(request.url)})`);
      response.headers.forEach((value, name) => write(`<   ${name}: ${redactHeader(name, value)}`));
      const type = response.headers.get('content-type') ?? '';
      if (type.includes('json')) {
        const text = await response.clone().text();
        write(`<   ${redact(text).slice(0, 2000)}`);
      }
    }
    return response;
  };
}

/** The options oauth4webapi needs for one endpoint: our fetch, and http allowed on loopback only. */
export function oauthOptions(fetchImpl: typeof fetch, url: string | URL | undefined): OAuthRequestOptions {
  const insecure = url !== undefined && new URL(url).protocol === 'http:' && isLoopback(new URL(url));
  // oauth4webapi types customFetch per endpoint (GET vs POST body); ours handles every one.
  const custom = fetchImpl as unknown as OAuthRequestOptions[typeof oauth.customFetch];
  return { [oauth.customFetch]: custom, ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}) };
}

type OAuthRequestOptions = {
  [oauth.customFetch]?: (url: string, options: oauth.CustomFetchOptions<'POST', any>) => Promise<Response>;
  [oauth.allowInsecureRequests]?: boolean;
};
