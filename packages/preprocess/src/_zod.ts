import type { z } from 'zod';
import type { Issue } from '@tfpipe/core';

/** Zod issues as tfpipe Issues under `base`, with the value received read from `input`. */
export function zodIssues(error: z.ZodError, base: (string | number)[], input: unknown): Issue[] {
  return error.issues.map((zi) => {
    const path = [...base, ...(zi.path as (string | number)[])];
    let received: unknown = input;
    for (const p of zi.path) received = received && typeof received === 'object' ? (received as Record<PropertyKey, unknown>)[p as PropertyKey] : undefined;
    const issue: Issue = { path, message: zi.message };
    if (received !== undefined) issue.received = received;
    if (zi.code === 'unrecognized_keys') issue.message = `unknown key(s) ${(zi as { keys: string[] }).keys.join(', ')}`;
    return issue;
  });
}
