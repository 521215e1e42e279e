import { createRequire } from 'node:module';
import type { Middleware } from 'koa';

let koaBody: typeof import('koa-body').koaBody | undefined;

/**
 * The parser for our HTML forms (sign-in, consent, the account and admin pages): url-encoded
 * only, at most 16 kB. koa-body, with formidable and co-body behind it, is ~3 MB of idle RSS
 * (bench/FINDINGS.md) in a server that no form has been posted to yet, so it is loaded, with a
 * synchronous `require`, when the first form arrives; from then on this is koa-body itself.
 */
export function formBody(): Middleware {
  let parse: Middleware | undefined;
  return (ctx, next) => {
    koaBody ??= (createRequire(import.meta.url)('koa-body') as typeof import('koa-body')).koaBody;
    parse ??= koaBody({ urlencoded: true, json: false, multipart: false, formLimit: '16kb', text: false });
    return parse(ctx, next);
  };
}
