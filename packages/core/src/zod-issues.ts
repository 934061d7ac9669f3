import type { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { type Issue, TfpipeError } from './errors.js';

/**
 * The one zod error → tfpipe Issue converter. Every package that validates with zod reports through it
 * (`parseSection`, or `zodIssues` where issues are collected), so the same mistake reads the same in a
 * config file, a function's options, a sweep or an HTTP body: an unknown key is always "unknown key" with
 * the known ones and a did-you-mean, a missing value "required", and so on. Callers branch on
 * `Issue.code`, never on the message.
 */

type AnyDef = { type: string; [k: string]: unknown };
const def = (s: unknown): AnyDef | undefined => (s as { _zod?: { def?: AnyDef } })?._zod?.def;

/** Unwraps default/optional/nullable/pipe/lazy wrappers to the schema that holds the shape. */
function unwrap(schema: unknown): unknown {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const d = def(s);
    if (!d) return s;
    if (['default', 'optional', 'nullable', 'readonly', 'catch', 'prefault', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else if (d.type === 'lazy') s = (d.getter as () => unknown)();
    else return s;
  }
  return s;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** The branches of a union that a value can be in: the one its discriminator names, else all. */
function branches(schema: unknown, value: unknown): unknown[] {
  const s = unwrap(schema);
  const d = def(s);
  if (d?.type !== 'union') return [s];
  const opts = d.options as unknown[];
  const disc = (d.discriminator as string | undefined) ?? 'type';
  const t = value && typeof value === 'object' ? (value as Record<string, unknown>)[disc] : undefined;
  if (t !== undefined) {
    const match = opts.filter((o) => {
      const od = def(unwrap(o));
      const lit = od?.type === 'object' ? def((od.shape as Record<string, unknown>)[disc]) : undefined;
      return lit?.type === 'literal' && (lit.values as unknown[]).includes(t);
    });
    if (match.length) return match.flatMap((m) => branches(m, value));
  }
  return opts.flatMap((o) => branches(o, value));
}

function schemasAt(schema: unknown, path: readonly PropertyKey[], root: unknown): unknown[] {
  let current: unknown[] = branches(schema, root);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const value = valueAt(root, path.slice(0, i + 1));
    const next: unknown[] = [];
    for (const c of current) {
      const d = def(unwrap(c));
      if (!d) continue;
      if (d.type === 'object') {
        const child = (d.shape as Record<string, unknown>)[String(seg)];
        if (child) next.push(...branches(child, value));
        else if (d.catchall && def(d.catchall)?.type !== 'never') next.push(...branches(d.catchall, value));
      } else if (d.type === 'array') next.push(...branches(d.element, value));
      else if (d.type === 'record') next.push(...branches(d.valueType, value));
      else if (d.type === 'tuple') {
        const items = d.items as unknown[];
        if (typeof seg === 'number' && items[seg]) next.push(...branches(items[seg], value));
      }
    }
    current = next;
  }
  return current;
}

/** The object keys a schema accepts at `path`, given the value there (to pick the union branch). */
export function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[], root: unknown): string[] {
  const keys = new Set<string>();
  for (const o of schemasAt(schema, path, root)) {
    const d = def(unwrap(o));
    if (d?.type === 'object') for (const k of Object.keys(d.shape as object)) keys.add(k);
  }
  return [...keys];
}

const typeWords = (t: string): string => (t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : `a ${t}`);

function describeUnion(errors: readonly (readonly z.core.$ZodIssue[])[]): string {
  const parts = errors.map((branch) => {
    const first = branch[0];
    if (!first) return 'something else';
    if (first.code === 'invalid_type') return typeWords(first.expected);
    if (first.code === 'invalid_value') return first.values.map((v) => JSON.stringify(v)).join(' | ');
    return first.message;
  });
  return [...new Set(parts)].join(' or ');
}

export interface ZodIssuesOptions {
  /** Known keys where the schema cannot be walked (a record's fields checked by a refinement). */
  knownKeys?: readonly string[];
}

/**
 * Zod issues as tfpipe Issues, under the config path `prefix`: the value received (read from `input`, what
 * was parsed), what is allowed, and each unknown key on its own line with the known ones and a did-you-mean.
 * `error` may be a ZodError or its `issues`.
 */
export function zodIssues(
  error: z.ZodError | readonly z.core.$ZodIssue[],
  schema: z.ZodType | undefined,
  prefix: readonly (string | number)[],
  input?: unknown,
  options: ZodIssuesOptions = {},
): Issue[] {
  const list = 'issues' in error ? error.issues : error;
  const out: Issue[] = [];
  for (const iss of list) {
    const rel = iss.path.filter((p): p is string | number => typeof p !== 'symbol');
    const path = [...prefix, ...rel];
    const here = valueAt(input, rel);
    const received = here !== undefined ? here : (iss as { input?: unknown }).input;
    switch (iss.code) {
      case 'unrecognized_keys': {
        const walked = schema ? knownKeysAt(schema, rel, input) : [];
        const known = walked.length ? walked : [...(options.knownKeys ?? [])];
        for (const key of iss.keys) {
          const suggestion = didYouMean(key, known);
          out.push({
            code: 'unknown_key',
            path: [...path, key],
            message: 'unknown key',
            expected: known.length ? `one of ${known.join(', ')}` : 'no other keys',
            ...(suggestion ? { suggestion } : {}),
          });
        }
        break;
      }
      case 'invalid_type': {
        const missing = here === undefined;
        out.push({
          // A key written with no value (`train:`) reads as null: say it is empty, not of a wrong type.
          code: missing || here === null ? 'required' : 'wrong_type',
          path,
          message: missing ? 'required' : here === null ? 'empty' : 'wrong type',
          ...(missing ? {} : { received: here }),
          expected: typeWords(iss.expected),
        });
        break;
      }
      case 'invalid_value': {
        const suggestion = typeof received === 'string' ? didYouMean(received, iss.values.map(String)) : undefined;
        out.push({
          code: 'invalid_value',
          path,
          message: 'invalid value',
          received,
          expected: iss.values.map((v) => JSON.stringify(v)).join(' | '),
          ...(suggestion ? { suggestion } : {}),
        });
        break;
      }
      case 'invalid_union': {
        const disc = (iss as { discriminator?: string }).discriminator;
        const alternatives = (iss as { options?: unknown[] }).options;
        if (disc && alternatives) {
          const names = alternatives.map(String);
          const suggestion = typeof here === 'string' ? didYouMean(here, names) : undefined;
          out.push({
            code: here === undefined ? 'required' : 'unknown_type',
            path,
            message: here === undefined ? 'required' : `unknown ${disc}`,
            ...(here === undefined ? {} : { received: here }),
            expected: names.map((n) => JSON.stringify(n)).join(' | '),
            ...(suggestion ? { suggestion } : {}),
          });
        } else if (iss.errors.length > 0) {
          // Report the branch that got furthest (fewest issues), so users see the real problem.
          const best = [...iss.errors].sort((a, b) => a.length - b.length)[0]!;
          if (best.some((e) => e.path.length > 0)) {
            out.push(...zodIssues(best.map((e) => ({ ...e, path: [...iss.path, ...e.path] })), schema, prefix, input, options));
          } else {
            out.push({ code: 'no_match', path, message: 'does not match any allowed form', received, expected: describeUnion(iss.errors) });
          }
        } else out.push({ code: 'no_match', path, message: iss.message, received });
        break;
      }
      case 'too_small':
      case 'too_big': {
        const word = iss.code === 'too_small' ? (iss.inclusive ? '>=' : '>') : iss.inclusive ? '<=' : '<';
        const bound = String(iss.code === 'too_small' ? iss.minimum : iss.maximum);
        const what =
          iss.origin === 'array' || iss.origin === 'set'
            ? `a list with length ${word} ${bound}`
            : iss.origin === 'string'
              ? `a string with length ${word} ${bound}`
              : `a number ${word} ${bound}`;
        out.push({ code: 'out_of_range', path, message: 'out of range', received, expected: what });
        break;
      }
      case 'invalid_format':
        out.push({ code: 'invalid_format', path, message: iss.message, received });
        break;
      default:
        // Refinements (`custom`) carry their own message, written for people.
        out.push({ code: 'invalid', path, message: iss.message, ...(received === undefined ? {} : { received }) });
    }
  }
  return out;
}

/**
 * Parses one config section (or a public function's options) with its schema; its problems, all at once,
 * become one TfpipeError (E_CONFIG unless told) under `path`. No bare ZodError leaves a public function.
 */
export function parseSection<S extends z.ZodType>(
  schema: S,
  input: unknown,
  path: readonly (string | number)[],
  options: { code?: 'E_CONFIG' | 'E_USAGE' | 'E_DATA' } = {},
): z.output<S> {
  const r = schema.safeParse(input, { reportInput: true });
  if (!r.success) throw TfpipeError.fromIssues(zodIssues(r.error, schema, path, input), options.code);
  return r.data;
}
