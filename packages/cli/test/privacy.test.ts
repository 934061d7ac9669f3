import { readFile, readdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@tfpipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, type Result } from './helpers.js';

// Trains on a table full of known personal values, anonymized by the preprocessing, and then reads every
// byte of the run directory (model, preprocessing state, reports, logs, checkpoints): none may appear.
const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Tony', 'Radia', 'Ken'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Hoare', 'Perlman', 'Thompson'];
const WORDS = ['please', 'call', 'back', 'about', 'the', 'results', 'appointment', 'tomorrow', 'thanks', 'soon'];
const KEY_ENV = 'TFPIPE_PRIVACY_TEST_KEY';
const SECRET = 'k3y-that-must-never-be-written-anywhere';

interface Person {
  name: string;
  email: string;
  phone: string;
  patient: string;
  zip: string;
  born: string;
}

let tmp: string;
const people: Person[] = [];
let result: Result;
let runDir: string;

function csvCell(s: string | number): string {
  const t = String(s);
  return /[",\n]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfpipe-privacy-'));
  const rng = createRng(11);
  const rows = ['name,email,patient_id,zip,born,age,note,x1,x2,label'];
  for (let i = 0; i < 400; i++) {
    const name = `${FIRST[i % 10]} ${LAST[Math.floor(i / 10) % 10]}${i}`;
    const email = `${FIRST[i % 10]!.toLowerCase()}.${LAST[Math.floor(i / 10) % 10]!.toLowerCase()}${i}@mail${i % 7}.example.org`;
    const phone = `+44 20 ${String(7000 + i).padStart(4, '0')} ${String(1000 + ((i * 37) % 9000)).padStart(4, '0')}`;
    const patient = `PT-${String(100_000 + i * 13)}`;
    const zip = `Z${String(10 + (i % 3))}${String.fromCharCode(65 + (i % 26))} ${i % 9}QX`;
    const born = `19${String(50 + (i % 40)).padStart(2, '0')}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
    people.push({ name, email, phone, patient, zip, born });
    const x1 = rng.normal();
    const x2 = rng.normal();
    const label = x1 + x2 > 0 ? 'yes' : 'no';
    const note = `${WORDS[i % 10]} ${WORDS[(i * 3) % 10]} mail ${email} or ring ${phone} ${WORDS[(i * 7) % 10]}`;
    rows.push([name, email, patient, zip, born, 20 + (i % 60), note, x1.toFixed(4), x2.toFixed(4), label].map(csvCell).join(','));
  }
  await writeFile(join(tmp, 'people.csv'), `${rows.join('\n')}\n`);
  await writeFile(
    join(tmp, 'pipeline.yaml'),
    `name: privacy-e2e
seed: 3
backend: cpu
data:
  source: { type: csv, path: people.csv }
  features: [age, zip, note, x1, x2]
  label: label
  split: { validation: 0.2, test: 0.2 }
preprocess:
  - { type: drop, columns: [name, email, born] }
  - { type: hash, column: patient_id, keyEnv: ${KEY_ENV} }
  - { type: drop, column: patient_id }
  - { type: generalize, column: age, bins: [30, 50, 70] }
  - { type: generalize, column: zip, keepPrefix: 2 }
  - { type: k-anonymity, columns: [age, zip], k: 5 }
  - { type: one-hot, columns: [age, zip] }
  - { type: redact, column: note }
  - { type: bag-of-words, column: note, maxVocab: 200 }
  - { type: standardize, columns: [x1, x2] }
model: { type: mlp, units: [8] }
train:
  optimizer: { type: adam, learningRate: 0.03 }
  epochs: 12
  batchSize: 32
  metrics: [accuracy]
evaluate:
  metrics: [accuracy]
`,
  );
  runDir = join(tmp, 'run');
  process.env[KEY_ENV] = SECRET;
  try {
    result = await pipeline(['run', join(tmp, 'pipeline.yaml'), '--out', runDir, '--no-progress']);
  } finally {
    delete process.env[KEY_ENV];
  }
}, 300_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('anonymized training (real CLI run)', () => {
  it('trains to well above chance on the non-personal signal', async () => {
    expect(result.code, result.stderr).toBe(0);
    const run = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')) as { metrics: Record<string, number> };
    const acc = run.metrics.accuracy;
    // The label is the sign of x1 + x2: chance is about 0.5; a model that learnt nothing cannot reach 0.8.
    expect(acc).toBeGreaterThan(0.8);
  });

  it('no personal value, and not the key, appears in any file of the run directory', async () => {
    const files = await filesUnder(runDir);
    expect(files.some((f) => f.endsWith('preprocess.json'))).toBe(true);
    const needles = people.flatMap((p) => [p.name, p.email, p.phone, p.phone.replaceAll(' ', ''), p.patient, p.zip, p.born]);
    needles.push(SECRET, ...FIRST.map((l) => `"${l.toLowerCase()}"`), ...LAST.map((l) => l.toLowerCase()));
    for (const f of files) {
      const text = (await readFile(f)).toString('latin1');
      for (const n of needles) expect(text.includes(n), `${n} found in ${f}`).toBe(false);
    }
    // The redacted tokens did reach the vocabulary (the note column really was used, not dropped).
    const pre = await readFile(join(runDir, 'model', 'preprocess.json'), 'utf8');
    expect(pre.toLowerCase()).toMatch(/email|phone/);
  });
});
