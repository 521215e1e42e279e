/**
 * The Docker build context as .dockerignore shapes it: Docker's rules (moby/patternmatcher) for
 * the patterns we use — `*`, `**`, `?`, leading `!` for exceptions, the last matching line wins,
 * and a pattern that matches a directory also matches everything inside it.
 *
 * @example
 * const ignored = dockerignore(await readFile('.dockerignore', 'utf8'));
 * ignored('auth-server/app.test.ts') // → true
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const exception = line.startsWith('!');
      const pattern = clean(exception ? line.slice(1).trim() : line);
      return { exception, regex: globToRegex(pattern) };
    });
  return (path) => {
    const parts = clean(path).split('/');
    // The path itself or any directory above it.
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) {
      if (candidates.some((candidate) => rule.regex.test(candidate))) ignored = !rule.exception;
    }
    return ignored;
  };
}

function clean(path: string): string {
  return path
    .replace(/^\.?\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\/+/g, '/');
}

function globToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of directories, `**` at the end anything.
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
