/**
 * A tiny cookie-keeping HTTP user agent for driving the login pages over plain HTTP in tests
 * (Playwright drives the real browser in e2e/). Redirects are followed by hand so tests can stop
 * at the client's redirect URI.
 */
export class TestBrowser {
  readonly #cookies = new Map<string, string>();
  readonly #headers: Record<string, string>;

  /** `headers` go on every request (e.g. X-Forwarded-For to play another ip behind a trusted proxy). */
  constructor(headers: Record<string, string> = {}) {
    this.#headers = headers;
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.#send(url, { method: 'GET', headers });
  }

  async postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.#send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** Follows redirects (GET) until the location leaves `until`'s origin or a page answers. */
  async follow(response: Response, until?: string): Promise<{ response: Response; url: string }> {
    let current = response;
    let url = current.url;
    for (let hops = 0; hops < 10; hops++) {
      const location = current.headers.get('location');
      if (!location || current.status < 300 || current.status >= 400) return { response: current, url };
      url = new URL(location, url).href;
      if (until && url.startsWith(until)) return { response: current, url };
      current = await this.get(url);
    }
    throw new Error('too many redirects');
  }

  /** The Cookie header this browser sends (for tools that make their own requests, like the fuzzer). */
  cookieHeader(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  clearCookies(): void {
    this.#cookies.clear();
  }

  setCookie(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers({ ...this.#headers, ...(init.headers as Record<string, string>) });
    if (this.#cookies.size) headers.set('cookie', [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    // Response.url is empty for manual redirects in some runtimes; keep it for relative Locations.
    Object.defineProperty(response, 'url', { value: url });
    return response;
  }
}

/** Pulls the value of a hidden input out of a rendered page. */
export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden field ${name} in page`);
  return match[1]!;
}

/** The action URL of the form whose action ends with `suffix`. */
export function formAction(html: string, suffix: string): string {
  const match = new RegExp(`action="([^"]*${suffix})"`).exec(html);
  if (!match) throw new Error(`no form posting to …${suffix}`);
  return match[1]!.replaceAll('&amp;', '&');
}
