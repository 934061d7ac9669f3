import { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { type Issue, TfpipeError } from './errors.js';

/** An entry keyed by the YAML `type`: its schema sits beside what it builds. */
export interface RegistryEntry {
  type: string;
  schema: z.ZodType;
  description?: string;
}

export interface Registry<E extends RegistryEntry> {
  /** What this registry holds, for messages: "model", "transform", "metric". */
  readonly kind: string;
  /** Adds an entry; registering a type twice throws E_DUPLICATE_TYPE. Returns the registry for chaining. */
  register(entry: E): Registry<E>;
  /** The entry for `type`, or E_UNKNOWN_TYPE listing the known types and the nearest one. */
  get(type: string, path?: (string | number)[]): E;
  has(type: string): boolean;
  types(): string[];
  entries(): E[];
}

/** A fresh registry instance: no globals, nothing registered as an import side effect. */
export function createRegistry<E extends RegistryEntry>(kind: string, initial: readonly E[] = []): Registry<E> {
  const map = new Map<string, E>();
  const registry: Registry<E> = {
    kind,
    register(entry) {
      if (map.has(entry.type)) {
        throw new TfpipeError('E_DUPLICATE_TYPE', `A ${kind} of type "${entry.type}" is already registered`, {
          hint: 'Choose another type name, e.g. prefix it with your package: "my/encoder".',
        });
      }
      map.set(entry.type, entry);
      return registry;
    },
    get(type, path = ['type']) {
      const e = map.get(type);
      if (e) return e;
      const known = [...map.keys()];
      const suggestion = didYouMean(type, known);
      const issue: Issue = {
        code: 'unknown_type',
        path,
        message: `unknown ${kind} type`,
        received: type,
        expected: known.map((k) => JSON.stringify(k)).join(' | '),
        ...(suggestion ? { suggestion } : {}),
      };
      throw new TfpipeError(
        'E_UNKNOWN_TYPE',
        `Unknown ${kind} type ${JSON.stringify(type)}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; known: ${known.join(', ')}`,
        { path, issues: [issue] },
      );
    },
    has: (type) => map.has(type),
    types: () => [...map.keys()],
    entries: () => [...map.values()],
  };
  for (const e of initial) registry.register(e);
  return registry;
}

/** An entry's schema as one branch of a union discriminated on `type` (its `type` literal added when missing). */
function branchOf(entry: RegistryEntry): z.ZodObject {
  const s = entry.schema;
  if (s instanceof z.ZodObject) {
    const t = (s.shape as Record<string, unknown>).type;
    if (t instanceof z.ZodLiteral && t.values.has(entry.type)) return s;
    return s.extend({ type: z.literal(entry.type) });
  }
  // Not an object schema (a transform, a union): the union only routes on `type`; the entry's own schema
  // still validates the whole config where the entry is used.
  return z.object({ type: z.literal(entry.type) }).loose();
}

/**
 * The schema of a config section whose `type` picks a registry entry: a union discriminated on `type` over
 * every registered entry, built-ins and yours alike. A type registered from TypeScript is then valid in the
 * YAML, in `pipeline validate` and in the editor's JSON Schema.
 */
export function registrySchema<E extends RegistryEntry>(registry: Registry<E>, description?: string): z.ZodType<{ type: string } & Record<string, unknown>> {
  const branches = registry.entries().map(branchOf);
  if (branches.length === 0) throw new TfpipeError('E_INTERNAL', `the ${registry.kind} registry is empty`);
  const union = z.discriminatedUnion('type', branches as [z.ZodObject, ...z.ZodObject[]]);
  return (description ? union.describe(description) : union) as unknown as z.ZodType<{ type: string } & Record<string, unknown>>;
}
