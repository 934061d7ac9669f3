/**
 * Writes the two regression sets the linear-model test compares with scikit-learn, as train/test CSVs under
 * packages/cli/test/fixtures/ridge/ (committed): the vega-datasets cars (every 5th labelled car is a test
 * row) and a seeded synthetic set whose target sits far from zero (y = 300 + 40·x1 − 25·x2 + 5·noise).
 * Then run tools/data/ridge-fixtures.py to freeze scikit-learn's scores beside them.
 *
 *   node --conditions=@tfpipe/source --import tsx tools/data/ridge-fixtures.ts && python3 tools/data/ridge-fixtures.py
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createRng } from '../../packages/core/src/rng.js';
import { examplePackageFile, repoPath } from './_io.js';

const dir = repoPath('packages/cli/test/fixtures/ridge');
const csv = (cols: string[], rows: (number | null)[][]) => `${cols.join(',')}\n${rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(',')).join('\n')}\n`;

const CARS = ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration', 'Miles_per_Gallon'];
const cars = (JSON.parse(await readFile(examplePackageFile('vega-datasets', 'data/cars.json'), 'utf8')) as Record<string, number | null>[]).filter(
  (c) => typeof c.Miles_per_Gallon === 'number',
);
const carRows = cars.map((c) => CARS.map((k) => c[k] ?? null));
await writeFile(`${dir}/cars-train.csv`, csv(CARS, carRows.filter((_, i) => i % 5 !== 0)));
await writeFile(`${dir}/cars-test.csv`, csv(CARS, carRows.filter((_, i) => i % 5 === 0)));

const rng = createRng(17);
const syn: number[][] = [];
for (let i = 0; i < 500; i++) {
  const x = [rng.normal(), rng.normal(), rng.normal()];
  syn.push([...x, 300 + 40 * x[0]! - 25 * x[1]! + 5 * rng.normal()].map((v) => Number(v.toFixed(5))));
}
await writeFile(`${dir}/synthetic-train.csv`, csv(['x1', 'x2', 'x3', 'y'], syn.filter((_, i) => i % 5 !== 0)));
await writeFile(`${dir}/synthetic-test.csv`, csv(['x1', 'x2', 'x3', 'y'], syn.filter((_, i) => i % 5 === 0)));
console.log(`wrote ${dir}: cars ${carRows.length} rows, synthetic ${syn.length} rows`);
