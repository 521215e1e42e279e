import { createRequire } from 'node:module';
import type { Middleware } from 'koa';

let koaBody: typeof import('koa-body').koaBody | undefined;
let warming = false;

function load(): typeof import('koa-body').koaBody {
  koaBody ??= (createRequire(import.meta.url)('koa-body') as typeof import('koa-body')).koaBody;
  return koaBody;
}

/**
 * The parser for our HTML forms (sign-in, consent, the account and admin pages): url-encoded
 * only, at most 16 kB. koa-body, with formidable and co-body behind it, is ~3 MB of idle RSS
 * (bench/FINDINGS.md) in a server that no person has visited yet, so it is loaded, with a
 * synchronous `require`, once a page is shown ({@link warmFormBody}) or at the latest when the
 * first form arrives; from then on this is koa-body itself.
 */
export function formBody(): Middleware {
  let parse: Middleware | undefined;
  return (ctx, next) => {
    parse ??= load()({ urlencoded: true, json: false, multipart: false, formLimit: '16kb', text: false });
    return parse(ctx, next);
  };
}

/**
 * Loads the form parser after the current request, once: called when a page is rendered, since
 * a page's form is posted seconds later, and that post should not wait for the load (tens of ms).
 */
export function warmFormBody(): void {
  if (koaBody || warming) return;
  warming = true;
  setImmediate(() => {
    try {
      load();
    } catch {
      // The first form post loads it again and fails where the error can be seen.
    }
  });
}
