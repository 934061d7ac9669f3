import type { z } from 'zod';
import { didYouMean, type Issue } from '@tfpipe/core';

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

/** The object keys a schema accepts at `path`, given the value there (to pick the union branch). */
export function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[], root: unknown): string[] {
  const options = schemasAt(schema, path, root);
  const keys = new Set<string>();
  for (const o of options) {
    const d = def(unwrap(o));
    if (d?.type === 'object') for (const k of Object.keys(d.shape as object)) keys.add(k);
  }
  return [...keys];
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

function branches(schema: unknown, value: unknown): unknown[] {
  const s = unwrap(schema);
  const d = def(s);
  if (d?.type !== 'union') return [s];
  const opts = d.options as unknown[];
  const disc = d.discriminator as string | undefined;
  const t = value && typeof value === 'object' ? (value as Record<string, unknown>)[disc ?? 'type'] : undefined;
  if (t !== undefined) {
    const match = opts.filter((o) => {
      const od = def(unwrap(o));
      const lit = od?.type === 'object' ? def((od.shape as Record<string, unknown>)[disc ?? 'type']) : undefined;
      return lit?.type === 'literal' && (lit.values as unknown[]).includes(t);
    });
    if (match.length) return match.flatMap((m) => branches(m, value));
  }
  return opts.flatMap((o) => branches(o, value));
}

function schemasAt(schema: unknown, path: readonly (string | number)[], root: unknown): unknown[] {
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

/** Zod 4 issues → tfpipe Issues: path, message, received, expected, did-you-mean. One zod issue may give several. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, root: unknown, basePath: (string | number)[] = []): Issue[] {
  const out: Issue[] = [];
  for (const iss of issues) {
    const path = [...basePath, ...(iss.path as (string | number)[])];
    const received = valueAt(root, iss.path as (string | number)[]);
    switch (iss.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, iss.path as (string | number)[], root);
        for (const key of iss.keys) {
          const suggestion = didYouMean(key, known);
          out.push({
            path: [...path, key],
            message: 'unknown key',
            expected: known.length ? `one of ${known.join(', ')}` : 'no other keys',
            ...(suggestion ? { suggestion } : {}),
          });
        }
        break;
      }
      case 'invalid_type': {
        out.push({
          path,
          message: received === undefined ? 'required' : 'wrong type',
          ...(received === undefined ? {} : { received }),
          expected: iss.expected === 'object' ? 'a mapping' : iss.expected === 'array' ? 'a list' : `a ${iss.expected}`,
        });
        break;
      }
      case 'invalid_value': {
        const values = iss.values.map((v) => JSON.stringify(v));
        const suggestion = typeof received === 'string' ? didYouMean(received, iss.values.map(String)) : undefined;
        out.push({ path, message: 'invalid value', received, expected: values.join(' | '), ...(suggestion ? { suggestion } : {}) });
        break;
      }
      case 'invalid_union': {
        const disc = (iss as { discriminator?: string }).discriminator;
        const options = (iss as { options?: unknown[] }).options;
        if (disc && options) {
          const got = valueAt(root, iss.path as (string | number)[]);
          const names = options.map(String);
          const suggestion = typeof got === 'string' ? didYouMean(got, names) : undefined;
          out.push({
            path,
            message: got === undefined ? `required` : `unknown ${disc}`,
            ...(got === undefined ? {} : { received: got }),
            expected: names.map((n) => JSON.stringify(n)).join(' | '),
            ...(suggestion ? { suggestion } : {}),
          });
        } else if (iss.errors.length > 0) {
          // Report the branch that got furthest (fewest issues), so users see the real problem.
          const best = [...iss.errors].sort((a, b) => a.length - b.length)[0]!;
          const deep = best.some((e) => e.path.length > 0);
          if (deep) out.push(...fromZodIssues(best.map((e) => ({ ...e, path: [...iss.path, ...e.path] })), schema, root, basePath));
          else out.push({ path, message: 'does not match any allowed form', received, expected: describeUnion(iss.errors) });
        } else out.push({ path, message: iss.message, received });
        break;
      }
      case 'too_small':
      case 'too_big': {
        const word = iss.code === 'too_small' ? (iss.inclusive ? '>=' : '>') : iss.inclusive ? '<=' : '<';
        const bound = iss.code === 'too_small' ? iss.minimum : iss.maximum;
        const what = iss.origin === 'array' ? `a list with length ${word} ${bound}` : iss.origin === 'string' ? `a string with length ${word} ${bound}` : `a number ${word} ${bound}`;
        out.push({ path, message: 'out of range', received, expected: what });
        break;
      }
      default:
        out.push({ path, message: iss.message, ...(received === undefined ? {} : { received }) });
    }
  }
  return out;
}

function describeUnion(errors: readonly (readonly z.core.$ZodIssue[])[]): string {
  const parts = errors.map((branch) => {
    const first = branch[0];
    if (!first) return 'something else';
    if (first.code === 'invalid_type') return first.expected === 'object' ? 'a mapping' : first.expected === 'array' ? 'a list' : `a ${first.expected}`;
    if (first.code === 'invalid_value') return first.values.map((v) => JSON.stringify(v)).join(' | ');
    return first.message;
  });
  return [...new Set(parts)].join(' or ');
}
