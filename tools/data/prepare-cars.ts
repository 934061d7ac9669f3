/**
 * Writes the vega-datasets cars (406 cars of 1970-1982) as JSONL for examples/cars-regression, without the 8
 * cars whose Miles_per_Gallon (the label) is missing: a pipeline can impute features but has no rule to drop
 * unlabelled rows, and imputing the target would make up training and test answers.
 *
 *   node --conditions=@tfpipe/source --import tsx tools/data/prepare-cars.ts [--out <file>]
 *
 * Everything else is kept as published, including the 6 missing Horsepower values (null), which the
 * example imputes with the training split's median.
 */
import { readFile } from 'node:fs/promises';
import { examplePackageFile, repoPath, writeJsonl } from './_io.js';

interface Car {
  Name: string;
  Miles_per_Gallon: number | null;
  Cylinders: number;
  Displacement: number;
  Horsepower: number | null;
  Weight_in_lbs: number;
  Acceleration: number;
  Year: string;
  Origin: string;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const out = i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : repoPath('examples/cars-regression/cars.jsonl');
  const cars = JSON.parse(await readFile(examplePackageFile('vega-datasets', 'data/cars.json'), 'utf8')) as Car[];
  const labelled = cars.filter((c) => typeof c.Miles_per_Gallon === 'number');
  await writeJsonl(out, labelled);
  const noHp = labelled.filter((c) => c.Horsepower === null).length;
  console.log(`wrote ${labelled.length} of ${cars.length} cars (dropped ${cars.length - labelled.length} without Miles_per_Gallon; ${noHp} without Horsepower, left for impute) to ${out}`);
}

await main();
