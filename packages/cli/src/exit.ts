import { TfpipeError, formatIssue } from '@tfpipe/core';

/** Exit codes: 0 ok, 1 run failed, 2 invalid config or usage, 3 a gate failed (`run`) or drift detected (`drift`). */
export const EXIT = { ok: 0, failed: 1, usage: 2, gate: 3, drift: 3 } as const;

export function exitCodeFor(e: unknown): number {
  if (e instanceof TfpipeError) {
    if (['E_CONFIG', 'E_YAML', 'E_USAGE', 'E_UNKNOWN_TYPE'].includes(e.code)) return EXIT.usage;
    if (e.code === 'E_GATE') return EXIT.gate;
  }
  return EXIT.failed;
}

/** Prints an error for a person: the message, every issue, and the hint. No stack unless TFPIPE_DEBUG is set. */
export function reportError(e: unknown, write: (s: string) => void = (s) => process.stderr.write(s)): void {
  if (e instanceof TfpipeError) {
    write(`error: ${e.message}\n`);
    if (e.issues.length && !e.message.includes(formatIssue(e.issues[0]!))) {
      for (const i of e.issues) write(`  - ${formatIssue(i)}\n`);
    }
    if (e.hint) write(`hint: ${e.hint}\n`);
    if (process.env.TFPIPE_DEBUG && e.stack) write(`${e.stack}\n`);
    return;
  }
  const err = e as Error;
  write(`error: ${err?.message ?? String(e)}\n`);
  if (process.env.TFPIPE_DEBUG && err?.stack) write(`${err.stack}\n`);
  else write('(set TFPIPE_DEBUG=1 for the stack trace)\n');
}
