export interface BenchOptions {
  json: boolean;
  compareTorch: boolean;
  /** Smaller sizes, for a smoke run. */
  quick: boolean;
  /** Only this backend (cpu, wasm, tensorflow, ...); all installed ones when absent. */
  backend?: string | undefined;
}

/** One measured row. At least `workload`; training workloads also give backend, trainSamplesPerSec, inferSamplesPerSec. */
export interface BenchResult {
  workload: string;
  [key: string]: string | number | boolean | number[] | undefined;
}

export interface Workload {
  name: string;
  description: string;
  /** Not run by a plain `pnpm bench`, only with --only (e.g. multi-GB file generation). */
  optIn?: boolean;
  /**
   * The wasm backend's threads for this workload (it runs in a process of its own, so each gets its
   * own): what tfpipe picks for the model (wasmThreadsFor), 1 for data-parallel rows. `--threads` overrides.
   */
  wasmThreads?: number | 'auto';
  run(opts: BenchOptions): Promise<BenchResult[]>;
}
