import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_JSON, TfpipeError, useBackend, writeFileAtomic, writeJsonAtomic } from '@tfpipe/core';
import { loadRun } from '@tfpipe/pipeline';
import { exportOnnx } from '@tfpipe/onnx';

interface ExportOpts {
  format: string;
  out?: string;
}

/**
 * `pipeline export <run> --format onnx [--out file]`: writes `model.onnx` next to the run's model (inputs and
 * outputs named, batch dimension dynamic, opset 13), with the class labels and the run's fitted
 * preprocessing in its metadata, and `onnx.json` beside it saying the same for other runtimes.
 */
export async function exportCommand(runDir: string, opts: ExportOpts): Promise<void> {
  if (opts.format !== 'onnx') {
    throw new TfpipeError('E_USAGE', `--format: received "${opts.format}"; expected onnx`);
  }
  const t0 = performance.now();
  // Reading weights is all the export computes: the plain cpu backend does it without starting wasm.
  await useBackend('cpu');
  const run = await loadRun(runDir);
  try {
    const modelDir = existsSync(join(runDir, MODEL_JSON)) ? runDir : join(runDir, 'model');
    const labels = run.metadata.labels ?? ('labels' in run.metadata.task ? run.metadata.task.labels : undefined);
    const exported = exportOnnx(run.model, {
      metadata: {
        'tfpipe.task': JSON.stringify(run.metadata.task),
        ...(labels ? { 'tfpipe.labels': JSON.stringify(labels) } : {}),
        'tfpipe.preprocess': JSON.stringify(run.preprocessor.toJSON()),
        'tfpipe.tensorizer': JSON.stringify(run.tensorizer.toJSON()),
      },
      description: `${run.metadata.name}: exported by tfpipe from ${runDir}`,
    });
    const file = opts.out ?? join(modelDir, 'model.onnx');
    await writeFileAtomic(file, exported.bytes);
    await writeJsonAtomic(join(modelDir, 'onnx.json'), {
      file: 'model.onnx',
      opset: exported.opset,
      inputs: exported.inputs,
      outputs: exported.outputs,
      task: run.metadata.task,
      ...(labels ? { labels } : {}),
      rawColumns: run.metadata.rawColumns,
      preprocess: 'preprocess.json',
      tensorizer: 'tensorizer.json',
    });
    const ms = performance.now() - t0;
    process.stderr.write(
      `exported ${run.metadata.name} to ${file}: ${exported.nodes} nodes, opset ${exported.opset}, inputs ${exported.inputs.map((i) => `${i.name}[${i.shape.join(',')}]`).join(' ')} (${(ms / 1000).toFixed(2)} s)\n`,
    );
  } finally {
    await run.dispose();
  }
}
