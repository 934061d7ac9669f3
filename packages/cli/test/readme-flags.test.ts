import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../src/program.js';
import { repo } from './helpers.js';

// Every `pipeline <verb> ... --flag` a README shows (in code blocks and inline code) names a verb and flags the
// CLI has, so the docs cannot promise an option that does not exist (`--format argo`, `--shared-volume` did).

function readmes(): string[] {
  const out = [join(repo, 'README.md')];
  for (const top of ['packages', 'examples', 'tools']) {
    for (const d of readdirSync(join(repo, top), { withFileTypes: true })) {
      const f = join(repo, top, d.name, 'README.md');
      if (d.isDirectory() && d.name !== 'node_modules' && existsSync(f)) out.push(f);
    }
  }
  return out;
}

/** The code of a markdown file: fenced blocks (with backslash continuations joined) and inline code spans. */
export function codeLines(md: string): string[] {
  const lines: string[] = [];
  const fence = /^(```|~~~)/;
  let inBlock = false;
  let pending = '';
  for (const raw of md.split('\n')) {
    if (fence.test(raw.trim())) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) {
      if (raw.trimEnd().endsWith('\\')) pending += `${raw.trimEnd().slice(0, -1)} `;
      else {
        lines.push(pending + raw);
        pending = '';
      }
    } else {
      for (const m of raw.matchAll(/`([^`]+)`/g)) lines.push(m[1]!);
    }
  }
  return lines;
}

interface Invocation {
  words: string[];
  flags: string[];
  text: string;
}

/** `pipeline <verb> [<sub>] ... --flag ...` occurrences in a line of code, up to the end of each command. */
export function invocations(line: string): Invocation[] {
  const out: Invocation[] = [];
  // A command ends at a pipe, &&, ;, a comment or a trailing &.
  for (const cmd of line.split(/\|\||&&|;|\s#|\s&(?:\s|$)|\|(?=\s)/)) {
    const tokens = cmd.trim().split(/\s+/);
    // The binary as a command: first on the line, or after what launches it (pnpm, npx, `$ `, a path).
    const at = tokens.findIndex((t, i) => (t === 'pipeline' || t.endsWith('/pipeline')) && (i === 0 || /^(pnpm|npx|-s|-y|pnpm@\S+|\$|exec|time)$/.test(tokens[i - 1]!)));
    if (at < 0) continue;
    const rest = tokens.slice(at + 1).map((t) => t.replace(/^[[(]+|[\])]+$/g, ''));
    const words: string[] = [];
    for (const t of rest) {
      if (!/^[a-z][a-z-]*$/.test(t)) break;
      words.push(t);
    }
    const flags = rest.filter((t) => /^--[a-z][a-z0-9-]*(=.*)?$/.test(t)).map((t) => t.replace(/=.*$/, ''));
    out.push({ words, flags, text: cmd.trim() });
  }
  return out;
}

function optionNames(cmd: Command): Set<string> {
  const names = new Set(['--help']);
  for (const o of cmd.options) {
    if (o.long) names.add(o.long);
    if (o.negate && o.long) names.add(o.long.replace(/^--no-/, '--'));
  }
  return names;
}

/** The command a list of words reaches (`sweep status`), and the words that were not sub-commands (arguments). */
function resolve(program: Command, words: string[]): { cmd: Command; path: string[] } {
  let cmd = program;
  const path: string[] = [];
  for (const w of words) {
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!sub) break;
    cmd = sub;
    path.push(w);
  }
  return { cmd, path };
}

describe('CLI flags the READMEs mention', () => {
  const program = createProgram();
  const found: { file: string; inv: Invocation }[] = [];
  for (const f of readmes()) {
    for (const line of codeLines(readFileSync(f, 'utf8'))) for (const inv of invocations(line)) found.push({ file: relative(repo, f), inv });
  }

  it('finds the documented invocations', () => {
    expect(found.length).toBeGreaterThan(30);
    expect(found.some((x) => x.inv.words[0] === 'sweep' && x.inv.flags.includes('--emit'))).toBe(true);
  });

  it('each names a verb of the CLI and only flags that verb has', () => {
    const verbs = new Set(program.commands.map((c) => c.name()));
    const problems: string[] = [];
    for (const { file, inv } of found) {
      // `pipeline` as a word of prose in code (`the pipeline binary`) or a placeholder verb (`pipeline <verb>`).
      if (inv.words.length === 0) {
        if (inv.flags.length > 0 && !inv.flags.every((f) => f === '--help' || f === '--version')) problems.push(`${file}: \`${inv.text}\`: flags without a verb`);
        continue;
      }
      if (!verbs.has(inv.words[0]!)) {
        problems.push(`${file}: \`${inv.text}\`: "${inv.words[0]}" is not a verb of the CLI (known: ${[...verbs].join(', ')})`);
        continue;
      }
      const { cmd, path } = resolve(program, inv.words);
      const known = optionNames(cmd);
      for (const flag of inv.flags) {
        if (!known.has(flag)) problems.push(`${file}: \`${inv.text}\`: pipeline ${path.join(' ')} has no ${flag} (it has ${[...known].join(', ')})`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every repository file a README command names exists (configs, data scripts, run.sh)', () => {
    const missing: string[] = [];
    let named = 0;
    for (const f of readmes()) {
      for (const line of codeLines(readFileSync(f, 'utf8'))) {
        for (const m of line.matchAll(/(?:^|\s)((?:examples|configs|tools|packages)\/[\w./-]+\.(?:ya?ml|ts|mjs|sh|csv|json))\b/g)) {
          named++;
          // Generated data (a tools/data script writes *.jsonl) is not in the repository.
          if (!existsSync(join(repo, m[1]!)) && !/\.jsonl?$/.test(m[1]!)) missing.push(`${relative(repo, f)}: ${m[1]}`);
        }
      }
    }
    expect(named).toBeGreaterThan(20);
    expect(missing, missing.join('\n')).toEqual([]);
  });

  it('catches a flag the CLI does not have', () => {
    const [inv] = invocations('pnpm pipeline sweep config.yaml --emit k8s --shared-volume pvc');
    const { cmd } = resolve(program, inv!.words);
    expect(inv!.flags).toEqual(['--emit', '--shared-volume']);
    expect(optionNames(cmd).has('--shared-volume')).toBe(false);
    expect(optionNames(cmd).has('--emit')).toBe(true);
  });
});
