import { Worker } from 'node:worker_threads';
import { wasmThreadsInUse } from '../threaded.js';
import type { WasmBackend } from '../wasm-heap.js';
import { SIMD_KERNELS_SHARED } from './kernels.js';
import { backendMemory, type SimdKernels, simdKernels } from './instance.js';

/*
 * A second thread for our own SIMD kernels: a worker thread that instantiates kernels.wat over the threaded
 * build's shared heap. A job is one kernel over a range of items (images, rows) split in chunks that the
 * calling thread and the helper claim from a shared counter (no messages: Atomics.notify wakes the helper).
 * Claiming, not halving: the helper often wakes 0.05-0.45 ms late (XNNPACK's pool thread spins a while on
 * the other vCPU after each of its operations), and then the caller has simply done more of the chunks.
 *
 * Job protocol, all in one SharedArrayBuffer of int32: the caller writes the arguments, then CLAIM = (job
 * << 16) | 0, then REQ = job, and notifies. Whoever runs a chunk first takes it by a compare-exchange on
 * CLAIM (which fails once the job changed, so a helper that woke late for an old job does nothing), and
 * adds its item count to FINISHED when the chunk is written. The caller returns when FINISHED = items; it
 * writes a new job only then, when every chunk of the old one is claimed and done.
 */

const REQ = 0;
const CLAIM = 1;
const FINISHED = 2;
const STATE = 3; // 0 starting, 1 ready, -1 failed
const FN = 4;
const ARGC = 5;
const FAILED = 6;
const LO = 7; // argument index of the range's start; the end is the next argument
const ITEMS = 8;
const STEP = 9;
const SLOT_ARG = 10; // argument indices of per-thread pointers (2 at most), -1 for none
const SLOT_BYTES = 12; // the helper's are SLOT_BYTES past the caller's
const HELPED = 14; // items the helper has run, over all jobs (tests check that it takes part)
const CHUNK_ARG = 15; // argument index of a per-chunk pointer, -1 for none
const CHUNK_BYTES = 16; // chunk k's lies k * CHUNK_BYTES past the first's
const CTRL_INTS = 17;
const MAX_ARGS = 32;
const JOB_MASK = 0x7fff;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, ctrl, args, names } = workerData;
const c = new Int32Array(ctrl);
const a = new Float64Array(args);
let k;
try {
  k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  Atomics.store(c, ${STATE}, 1);
} catch {
  Atomics.store(c, ${STATE}, -1);
}
let seen = 0;
while (k) {
  Atomics.wait(c, ${REQ}, seen);
  seen = Atomics.load(c, ${REQ});
  const f = k[names[c[${FN}]]];
  const argv = [];
  for (let i = 0; i < c[${ARGC}]; i++) argv.push(a[i]);
  const lo = c[${LO}], items = c[${ITEMS}], step = c[${STEP}];
  for (let j = 0; j < 2; j++) if (c[${SLOT_ARG} + j] >= 0) argv[c[${SLOT_ARG} + j]] += c[${SLOT_BYTES} + j];
  const tag = (seen & ${JOB_MASK}) << 16;
  for (;;) {
    const cur = Atomics.load(c, ${CLAIM});
    if ((cur & ~0xffff) !== tag) break;
    const i = cur & 0xffff;
    if (i >= items) break;
    const end = Math.min(items, i + step);
    if (Atomics.compareExchange(c, ${CLAIM}, cur, tag | end) !== cur) continue;
    argv[lo] = i;
    argv[lo + 1] = end;
    const chunkArg = c[${CHUNK_ARG}];
    const base = chunkArg >= 0 ? argv[chunkArg] : 0;
    if (chunkArg >= 0) argv[chunkArg] = base + ((i / step) | 0) * c[${CHUNK_BYTES}];
    try {
      f(...argv);
    } catch {
      c[${FAILED}] = 1;
    }
    if (chunkArg >= 0) argv[chunkArg] = base;
    Atomics.add(c, ${HELPED}, end - i);
    Atomics.add(c, ${FINISHED}, end - i);
    Atomics.notify(c, ${FINISHED});
  }
}
`;

type KernelName = keyof SimdKernels;

/** One kernel call over items [0, items), shared between the calling thread and the helper. */
export interface SharedJob {
  name: KernelName;
  /** The kernel's arguments; those at `range` and `range + 1` are set to each chunk's [start, end). */
  args: number[];
  range: number;
  items: number;
  /** Items per chunk. */
  step: number;
  /** Per-thread pointers (scratch; 2 at most): argument index, and how far past the caller's the helper's lies (bytes). */
  scratch?: { arg: number; bytes: number }[];
  /**
   * A per-chunk pointer (partial sums): chunk k (items [k*step, (k+1)*step)) gets it k*bytes further, whoever
   * runs it, so that sums over the items come out the same on one thread or two (see add_partials).
   */
  perChunk?: { arg: number; bytes: number };
}

/** Runs kernels over ranges on two threads: the caller and the helper. */
export interface SimdHelper {
  /** Runs the job to the end (the caller takes chunks too); throws if a chunk failed. */
  run(kernels: SimdKernels, job: SharedJob): void;
}

class Helper implements SimdHelper {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
  private readonly args = new Float64Array(new SharedArrayBuffer(MAX_ARGS * 8));
  private readonly names: KernelName[];
  private job = 0;

  constructor(memory: object, names: KernelName[]) {
    this.names = names;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { memory, bytes: Buffer.from(SIMD_KERNELS_SHARED, 'base64'), ctrl: this.ctrl.buffer, args: this.args.buffer, names },
    });
    worker.unref();
    worker.on('error', () => Atomics.store(this.ctrl, STATE, -1));
  }

  get helped(): number {
    return Atomics.load(this.ctrl, HELPED);
  }

  get ready(): boolean {
    return Atomics.load(this.ctrl, STATE) === 1;
  }

  run(kernels: SimdKernels, job: SharedJob): void {
    const { name, args, range, items, step } = job;
    if (args.length > MAX_ARGS) throw new Error(`the SIMD helper takes at most ${MAX_ARGS} arguments`);
    if (items > 0xffff) throw new Error(`the SIMD helper takes at most 65535 items, received ${items}`);
    const index = this.names.indexOf(name);
    if (index < 0) throw new Error(`unknown SIMD kernel ${name}`);
    const c = this.ctrl;
    this.args.set(args);
    c[FN] = index;
    c[ARGC] = args.length;
    c[LO] = range;
    c[ITEMS] = items;
    c[STEP] = step;
    const slots = job.scratch ?? [];
    if (slots.length > 2) throw new Error('the SIMD helper takes at most 2 per-thread pointers');
    for (let j = 0; j < 2; j++) {
      c[SLOT_ARG + j] = slots[j]?.arg ?? -1;
      c[SLOT_BYTES + j] = slots[j]?.bytes ?? 0;
    }
    c[CHUNK_ARG] = job.perChunk?.arg ?? -1;
    c[CHUNK_BYTES] = job.perChunk?.bytes ?? 0;
    c[FAILED] = 0;
    Atomics.store(c, FINISHED, 0);
    this.job = (this.job + 1) & JOB_MASK;
    const tag = this.job << 16;
    Atomics.store(c, CLAIM, tag);
    Atomics.store(c, REQ, this.job);
    Atomics.notify(c, REQ);
    const f = kernels[name] as (...a: number[]) => void;
    const argv = args.slice();
    let error: unknown;
    for (;;) {
      const cur = Atomics.load(c, CLAIM);
      const i = cur & 0xffff;
      if (i >= items) break;
      const end = Math.min(items, i + step);
      if (Atomics.compareExchange(c, CLAIM, cur, tag | end) !== cur) continue;
      setChunk(argv, job, i, end);
      try {
        f(...argv);
      } catch (e) {
        error ??= e;
      }
      Atomics.add(c, FINISHED, end - i);
    }
    // Every chunk is claimed: wait for the helper's last one (it was started before ours ended).
    for (let spin = 0; Atomics.load(c, FINISHED) < items; spin++) {
      if (spin > 1000) Atomics.wait(c, FINISHED, Atomics.load(c, FINISHED), 5);
      // A worker that died (its 'error' event) would never finish its chunk.
      if (Atomics.load(c, STATE) === -1) throw new Error(`the SIMD helper thread stopped while running ${name}`);
    }
    if (error) throw error;
    if (c[FAILED]) throw new Error(`our SIMD kernel ${name} failed on the helper thread`);
  }
}

const helpers = new WeakMap<object, Helper>();
let enabled = process.env.TFPIPE_WASM_HELPER !== '0';

/** Turns the helper thread off (our kernels then run on the calling thread alone): for A/B measurements and tests. */
export function setSimdHelperEnabled(on: boolean): void {
  enabled = on;
}

/**
 * The helper thread for this backend's heap, when our kernels should use two threads: the threaded build
 * runs (its heap is shared) with 2 or more threads. Started on first use; until it is ready (tens of
 * milliseconds) this returns undefined and callers run everything themselves.
 */
export function simdHelper(backend: WasmBackend): SimdHelper | undefined {
  if (!enabled || (wasmThreadsInUse() ?? 1) < 2) return undefined;
  const memory = backendMemory(backend);
  const kernels = simdKernels(backend);
  if (!memory || !kernels || !(memory.buffer instanceof SharedArrayBuffer)) return undefined;
  let h = helpers.get(memory);
  if (!h) {
    h = new Helper(memory, Object.keys(kernels) as KernelName[]);
    helpers.set(memory, h);
  }
  return h.ready ? h : undefined;
}

/** Items (images, rows) the helper thread of this backend's heap has run so far; undefined if it never started. */
export function simdHelperItems(backend: WasmBackend): number | undefined {
  const memory = backendMemory(backend);
  return memory ? helpers.get(memory)?.helped : undefined;
}

/**
 * Runs `job` on the calling thread and `helper` (from simdHelper, looked up by the caller once, since its
 * per-thread buffers were sized for it), or over the whole range on the calling thread alone.
 */
export function runShared(kernels: SimdKernels, job: SharedJob, helper: SimdHelper | undefined): void {
  if (helper && job.items > 1 && job.items <= 0xffff) {
    helper.run(kernels, job);
    return;
  }
  const f = kernels[job.name] as (...a: number[]) => void;
  const argv = job.args.slice();
  // Per-chunk partial sums: the same chunks as on two threads, so the same numbers.
  const step = job.perChunk ? job.step : job.items;
  for (let i = 0; i < job.items; i += step) {
    setChunk(argv, job, i, Math.min(job.items, i + step));
    f(...argv);
  }
}

/** Points argv at the chunk of items [i, end) (the worker's copy of this rule is in WORKER_SOURCE). */
function setChunk(argv: number[], job: SharedJob, i: number, end: number): void {
  argv[job.range] = i;
  argv[job.range + 1] = end;
  if (job.perChunk) argv[job.perChunk.arg] = job.args[job.perChunk.arg]! + Math.floor(i / job.step) * job.perChunk.bytes;
}
