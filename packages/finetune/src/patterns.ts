import { didYouMean, formatPath, TfpipeError } from '@tfpipe/core';

/** A compiled layer-name pattern: a glob (`conv*`, `dense_?`) or a regex written `/.../flags`. */
export interface LayerPattern {
  source: string;
  test(name: string): boolean;
}

function escapeRegex(s: string): string {
  return s.replace(/[.+^${}()|\\]/g, '\\$&');
}

/**
 * Compiles a pattern. `/^conv2d_\d+$/i` is a regex (searched, not anchored, as RegExp.test); anything else is
 * a glob matched against the whole name: `*` any run of characters, `?` one character, `[abc]` a class.
 */
export function compilePattern(source: string, path: (string | number)[] = []): LayerPattern {
  const re = /^\/(.+)\/([a-z]*)$/.exec(source);
  let regex: RegExp;
  try {
    if (re) regex = new RegExp(re[1]!, re[2]);
    else {
      let body = '';
      for (let i = 0; i < source.length; i++) {
        const c = source[i]!;
        if (c === '*') body += '.*';
        else if (c === '?') body += '.';
        else if (c === '[') {
          const end = source.indexOf(']', i + 1);
          if (end < 0) throw new Error('unclosed [');
          body += `[${source.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
          i = end;
        } else body += escapeRegex(c);
      }
      regex = new RegExp(`^${body}$`);
    }
  } catch (e) {
    throw TfpipeError.fromIssues([
      {
        path,
        message: `not a valid pattern (${(e as Error).message})`,
        received: source,
        expected: 'a glob (conv*, dense_?) or a regex between slashes (/^conv2d_\\d+$/)',
      },
    ]);
  }
  return { source, test: (name) => regex.test(name) };
}

/**
 * The names among `names` that match any of `patterns` and none of `exclude`. Every pattern must match at
 * least one name (before exclusion): one that matches nothing is E_CONFIG listing the names it was tried on.
 */
export function matchNames(
  names: readonly string[],
  patterns: string | readonly string[],
  options: { path: (string | number)[]; exclude?: readonly string[]; excludePath?: (string | number)[]; what?: string },
): string[] {
  const what = options.what ?? 'layer';
  const compileAll = (list: string | readonly string[], basePath: (string | number)[]) =>
    (typeof list === 'string' ? [{ p: list, path: basePath }] : list.map((p, i) => ({ p, path: [...basePath, i] }))).map(({ p, path }) => {
      const pattern = compilePattern(p, path);
      if (!names.some((n) => pattern.test(n))) throw noMatch(p, names, path, what);
      return pattern;
    });
  const include = compileAll(patterns, options.path);
  const exclude = compileAll(options.exclude ?? [], options.excludePath ?? [...options.path.slice(0, -1), 'exclude']);
  return names.filter((n) => include.some((p) => p.test(n)) && !exclude.some((p) => p.test(n)));
}

/** The E_CONFIG error for a pattern that matches no name: path, the pattern, and every name it was tried on. */
export function noMatch(pattern: string, names: readonly string[], path: (string | number)[], what = 'layer'): TfpipeError {
  const suggestion = didYouMean(pattern, [...names]);
  return new TfpipeError(
    'E_CONFIG',
    `${formatPath(path)}: the pattern ${JSON.stringify(pattern)} matches no ${what}; the ${what}s are: ${names.join(', ')}`,
    {
      path,
      issues: [
        {
          path,
          message: `matches no ${what}`,
          received: pattern,
          expected: `a glob or /regex/ matching one of: ${names.join(', ')}`,
          ...(suggestion ? { suggestion } : {}),
        },
      ],
    },
  );
}
