import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLError } from 'yaml';
import { TfpipeError, type Issue, type SourceLocation } from '@tfpipe/core';

/** Keys that could reach an object's prototype if a consumer ever assigned them naively. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Anchors/aliases are allowed, but bounded: a "billion laughs" document must not expand. */
const MAX_ALIAS_COUNT = 100;

/** A parsed YAML file that remembers where every value came from. */
export interface YamlSource {
  file: string;
  value: unknown;
  /** Location of the value at `path`, or of its nearest existing parent. */
  locate(path: readonly (string | number)[], opts?: { key?: boolean }): SourceLocation | undefined;
}

function position(lc: LineCounter, file: string, offset: number): SourceLocation {
  const { line, col } = lc.linePos(offset);
  return { file, line, column: col };
}

/** The first non-blank character of the line that holds `offset`. */
function lineStart(text: string, offset: number): number {
  let i = text.lastIndexOf('\n', offset - 1) + 1;
  while (text[i] === ' ' || text[i] === '\t') i++;
  return i;
}

const keyAt = (text: string, offset: number): string => /^[^:\n]*/.exec(text.slice(offset))![0].trim();

/**
 * A wrongly indented key, located at that key (the YAML parser reports it at the value above it): `null`
 * drops a parser error that only repeats another one, `undefined` leaves the error to the generic wording.
 * Told apart by the parser's error codes, not its messages.
 */
/** The config path of the mapping key that starts at `offset`, if the parsed document has one there. */
function pathOfKeyAt(node: unknown, offset: number, path: (string | number)[] = []): (string | number)[] | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string' && typeof key !== 'number') continue;
      if ((pair.key as Node).range?.[0] === offset) return [...path, key];
      const found = pathOfKeyAt(pair.value, offset, [...path, key]);
      if (found) return found;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const found = pathOfKeyAt(item, offset, [...path, i]);
      if (found) return found;
    }
  }
  return undefined;
}

function indentationIssue(text: string, err: YAMLError, all: readonly YAMLError[], at: (offset: number) => SourceLocation, doc: Document): Issue | null | undefined {
  if (err.code === 'BLOCK_AS_IMPLICIT_KEY' && all.some((o) => o.code === 'MULTILINE_IMPLICIT_KEY' && o.pos[0] === err.pos[0])) return null;
  if (err.code === 'MULTILINE_IMPLICIT_KEY') {
    // The span runs from the value above to the key that was indented too deep: that key is on its last line.
    const keyOffset = lineStart(text, err.pos[1]);
    const aboveOffset = lineStart(text, err.pos[0]);
    const key = keyAt(text, keyOffset);
    const above = keyAt(text, aboveOffset).replace(/^- /, '');
    const col = at(keyOffset).column;
    const aboveKey = aboveOffset + (text.startsWith('- ', aboveOffset) ? 2 : 0);
    const aboveCol = at(aboveKey).column;
    // Named as the sibling of the key above, which is where it was meant to be.
    const abovePath = pathOfKeyAt(doc.contents, aboveKey);
    return {
      path: abovePath ? [...abovePath.slice(0, -1), key] : [],
      message: `wrong indentation: "${key}" starts at column ${col}, deeper than "${above}" above it (column ${aboveCol}); keys of one mapping start in the same column, and a nested mapping goes under a key that has no value on its line`,
      location: at(keyOffset),
    };
  }
  if (err.code === 'BAD_INDENT') {
    const keyOffset = lineStart(text, err.pos[0]);
    const key = keyAt(text, keyOffset);
    return { path: pathOfKeyAt(doc.contents, keyOffset) ?? [], message: `wrong indentation: "${key}" (column ${at(keyOffset).column}) is not aligned with the keys of the mapping it belongs to`, location: at(keyOffset) };
  }
  return undefined;
}

/**
 * Parses YAML as data only: the core schema (no tags that construct objects), aliases bounded,
 * prototype keys rejected. Every problem is an Issue with file:line:column.
 */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false, schema: 'core', uniqueKeys: true, merge: false });
  const issues: Issue[] = [];
  const errors = [...doc.errors, ...doc.warnings];
  for (const err of errors) {
    const indent = indentationIssue(text, err, errors, (offset) => position(lc, file, offset), doc);
    if (indent !== undefined) {
      if (indent) issues.push(indent);
      continue;
    }
    const at = position(lc, file, err.pos[0]);
    const message = err.message.split('\n')[0] ?? err.message;
    issues.push({ path: [], message: `YAML: ${message}`, location: at });
  }
  // Unknown tags ("!!js/function", "!Ref") are data-construction attempts; refuse them.
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    if ('tag' in n && typeof n.tag === 'string' && !/^tag:yaml\.org,2002:(str|int|float|bool|null|map|seq)$/.test(n.tag)) {
      issues.push({
        path,
        message: `YAML tags are not allowed (tfpipe configs are plain data)`,
        received: n.tag,
        ...(n.range ? { location: position(lc, file, n.range[0]) } : {}),
      });
    }
    if (isMap(n)) {
      for (const pair of n.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        const k = typeof key === 'string' || typeof key === 'number' ? key : String(key);
        if (typeof k === 'string' && FORBIDDEN_KEYS.has(k)) {
          issues.push({
            path: [...path, k],
            message: 'this key is not allowed',
            ...(isScalar(pair.key) && pair.key.range ? { location: position(lc, file, pair.key.range[0]) } : {}),
          });
        }
        walk(pair.value, [...path, k]);
      }
    } else if (isSeq(n)) {
      for (const [i, item] of n.items.entries()) walk(item, [...path, i]);
    }
  };
  walk(doc.contents, []);
  if (issues.length) throw TfpipeError.fromIssues(issues, 'E_YAML');

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw TfpipeError.fromIssues([{ path: [], message: `YAML: ${(e as Error).message}`, location: { file, line: 1, column: 1 } }], 'E_YAML');
  }

  const locate: YamlSource['locate'] = (path, opts = {}) => {
    let node: unknown = doc.contents;
    let last: SourceLocation | undefined = node && (node as Node).range ? position(lc, file, (node as Node).range![0]) : undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return last;
        const keyNode = pair.key as Node;
        const isLast = i === path.length - 1;
        if (isLast && opts.key && keyNode.range) return position(lc, file, keyNode.range[0]);
        const v = pair.value as Node | null;
        if (v?.range) last = position(lc, file, v.range[0]);
        else if (keyNode.range) last = position(lc, file, keyNode.range[0]);
        node = v;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) return last;
        if (item.range) last = position(lc, file, item.range[0]);
        node = item;
      } else {
        return last;
      }
    }
    return last;
  };
  return { file, value, locate };
}

export async function readYamlSource(path: string, displayName = path): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new TfpipeError('E_IO', `cannot read config ${displayName}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  return parseYamlSource(text, displayName);
}
