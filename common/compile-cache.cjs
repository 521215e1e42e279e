// Loaded by common/require-node.cjs, the preload of every npm entry point, and by npm start for
// its servers: before Node loads the first .ts file. Plain CommonJS for the same reason.
'use strict';
const { enableCompileCache } = require('node:module');
const { join } = require('node:path');

/**
 * Node's on-disk compile cache, which also keeps the type-stripped sources of our .ts files: on
 * every start after the first, Node reads the stripped code instead of loading its TypeScript
 * stripper (a WebAssembly module that stays in memory for the process's life). That is ~20 MB of
 * idle RSS per server and a third of the start-up time (bench/FINDINGS.md). Entries are keyed by
 * the source's hash, so an edited file is stripped again. Under node_modules/.cache (the usual
 * place for tool caches, private to whoever installed the project, unlike a shared /tmp); where
 * it cannot be written (a read-only install) Node just runs without it.
 */
function enableSourceCache() {
  try {
    enableCompileCache?.(join(__dirname, '..', 'node_modules', '.cache', 'node-compile-cache'));
  } catch {
    // Only start-up time and memory are at stake.
  }
}

enableSourceCache();
module.exports = { enableSourceCache };
