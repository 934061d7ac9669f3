import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { installRecurrentFusion } from './kernels/recurrent.js';

/*
 * The multithreaded wasm build (XNNPACK over a pthread pool) in Node.
 *
 * tfjs-backend-wasm ships tfjs-backend-wasm-threaded-simd.wasm but never uses it in Node: its
 * WASM_HAS_MULTITHREAD_SUPPORT flag is false there, and the emscripten glue would start its pthread
 * workers from `blob:` URLs, which worker_threads cannot load. The glue itself supports Node (it uses
 * worker_threads and reads its main script with fs), so all it needs is files on disk: we take the
 * threaded glue and the worker script out of the installed bundle (the same text tfjs puts into its blobs),
 * write them once to a cache folder, and start the module from there. Then `new BackendWasm(module)` is
 * the stock backend over the threaded binary, with every stock and every one of our kernels.
 */

const require = createRequire(import.meta.url);

/** The most threads the build can use: it preallocates this many pthread workers and XNNPACK caps at it. */
export const MAX_WASM_THREADS = 8;

type EmscriptenModule = { cwrap: (name: string, ret: string | null, args: string[]) => unknown; tfjs?: unknown; PThread?: unknown };
interface ThreadedFiles {
  main: string;
  worker: string;
  wasm: string;
}

function put(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Writes (once per installed tfjs-backend-wasm version) the glue and worker scripts of the threaded build. */
export function threadedBuildFiles(cacheDir = process.env.TFPIPE_CACHE_DIR ?? tmpdir()): ThreadedFiles {
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = join(cacheDir, `tfpipe-wasm-threads-${version}-${uid}-v1`);
  const files = { main: join(dir, 'threaded-simd.cjs'), worker: join(dir, 'threaded-simd.worker.cjs'), wasm: join(pkgDir, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm') };
  if (existsSync(files.main) && existsSync(files.worker)) return files;

  const bundle = readFileSync(join(pkgDir, 'dist', 'tf-backend-wasm.es2017.js'), 'utf8');
  const start = bundle.indexOf('var WasmBackendModuleThreadedSimd = (() => {');
  const end = bundle.indexOf('module.exports = WasmBackendModuleThreadedSimd;', start);
  const workerMarker = 'var wasmWorkerContents = `';
  const workerStart = bundle.indexOf(workerMarker);
  const poolMarker = 'var pthreadPoolSize=8;';
  if (start < 0 || end < 0 || workerStart < 0 || !bundle.slice(start, end).includes(poolMarker)) {
    throw new Error(`@tensorflow/tfjs-backend-wasm ${version}: the threaded build's glue was not found where 4.22 has it`);
  }
  // The glue refers to the bundle's imports (fs, path, perf_hooks, os) and its global by these names.
  // The C side caps its pool at emscripten_num_logical_cores() / 2 (it assumes hyper-threading), which it
  // reads from os.cpus(): report twice the threads asked for, so the cap is the request. And the glue
  // starts 8 pthread workers up front; start only as many as the pool will use.
  const prelude = [
    'var commonjsGlobal = globalThis;',
    "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks');",
    "var require$$4 = Object.assign({}, require('os'), { cpus: function () { var n = 2 * (globalThis.__tfpipeWasmThreads || 1); return Array.from({ length: n }, function () { return require('os').cpus()[0]; }); } });",
    '',
  ].join('\n');
  const factory = bundle.slice(start, end).replace(poolMarker, 'var pthreadPoolSize=Math.max(1,(globalThis.__tfpipeWasmThreads||1)-1);');
  // A template literal whose raw text is the script: its escapes ("\n") must stay escapes in the file.
  const workerSource = bundle.slice(workerStart + workerMarker.length, bundle.indexOf('`;', workerStart));
  mkdirSync(dirname(files.main), { recursive: true });
  put(files.main, `${prelude}${factory}\nif (typeof module === 'object' && module.exports) module.exports = WasmBackendModuleThreadedSimd;\n`);
  put(files.worker, workerSource);
  return files;
}

/**
 * How many times an idle XNNPACK pool thread polls for its next operation before it sleeps: pthreadpool's
 * 1,000,000 (milliseconds of spinning) made it fight our own helper thread (simd/helper.ts) for the two vCPUs
 * after every XNNPACK operation: steps 10% slower on average, one in ten 1.5-2x. 1,000 polls (a few
 * microseconds) still cover back-to-back XNNPACK operations.
 */
export const POOL_SPIN_POLLS = 1000;
// pthreadpool's wait_for_new_command in 4.22's threaded binary: an atomic load of the command, `!= last`,
// br_if out, then `i32.const 1000000` (LEB128 c0 84 3d) as the spin counter.
const SPIN_SITE = Buffer.from('fe10020022022001470d0041c0843d', 'hex');
let poolSpinPatched = false;

/** The threaded binary with the pool's spin count set to POOL_SPIN_POLLS (unchanged if the site is not found exactly once). */
function threadedBinary(path: string): Buffer {
  const bytes = readFileSync(path);
  const at = bytes.indexOf(SPIN_SITE);
  poolSpinPatched = at >= 0 && bytes.indexOf(SPIN_SITE, at + 1) < 0;
  if (poolSpinPatched) {
    // The same three bytes, as padded LEB128 (7 bits each, low first; any count under 2^20).
    const n = POOL_SPIN_POLLS;
    bytes.set([0x80 | (n & 0x7f), 0x80 | ((n >> 7) & 0x7f), (n >> 14) & 0x7f], at + SPIN_SITE.length - 3);
  }
  return bytes;
}

/** Whether the running threaded build polls POOL_SPIN_POLLS times (true) or pthreadpool's stock 1,000,000. */
export function wasmPoolSpinPatched(): boolean {
  return poolSpinPatched;
}

/** Starts the threaded wasm module with `threads` XNNPACK threads (the calling thread is one of them). */
async function startThreadedModule(threads: number): Promise<EmscriptenModule> {
  const files = threadedBuildFiles();
  (globalThis as { __tfpipeWasmThreads?: number }).__tfpipeWasmThreads = threads;
  const factory = require(files.main) as (config: Record<string, unknown>) => Promise<EmscriptenModule>;
  let aborted: unknown;
  const module = await factory({
    wasmBinary: threadedBinary(files.wasm),
    locateFile: (path: string) => (path.endsWith('.worker.js') ? files.worker : path.endsWith('.wasm') ? files.wasm : path),
    mainScriptUrlOrBlob: files.main,
    onAbort: (what: unknown) => {
      aborted = what;
    },
  });
  if (aborted !== undefined) throw new Error(`the threaded wasm module aborted: ${String(aborted)}`);
  // What tfjs-backend-wasm's own init() adds to the module before handing it to BackendWasm.
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

type NodeWorker = { unref?: () => void };
/**
 * The pool's threads run for the life of the process, and emscripten keeps a running pthread's worker
 * referenced: without this a script that is done would never exit. The main thread blocks while a kernel
 * runs, so nothing is cut short.
 */
function unrefWorkers(module: EmscriptenModule): void {
  const p = module.PThread as { runningWorkers?: NodeWorker[]; unusedWorkers?: NodeWorker[] } | undefined;
  for (const w of [...(p?.runningWorkers ?? []), ...(p?.unusedWorkers ?? [])]) w.unref?.();
}

/** A thread count from the environment: undefined when unset; 'auto' where allowed; else a whole number >= 1. */
function envCount(name: string, allowAuto: boolean): number | 'auto' | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (allowAuto && v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be ${allowAuto ? '"auto" or ' : ''}a whole number >= 1, received "${v}"`);
  return n;
}

let requested: number | 'auto' | undefined;
let installed = false;
let lastFallback: string | undefined;

/**
 * The thread count a request resolves to (by default: setWasmThreads, else TFPIPE_WASM_THREADS, else
 * 'auto'); 'auto' = the cores Node may use. Capped at MAX_WASM_THREADS and TFPIPE_WASM_MAX_THREADS.
 */
export function resolveWasmThreads(request: number | 'auto' = requested ?? envCount('TFPIPE_WASM_THREADS', true) ?? 'auto'): number {
  const n = request === 'auto' ? availableParallelism() : request;
  // TFPIPE_WASM_MAX_THREADS caps every request: a process that shares the machine with others (a sweep's
  // trial children) gets its share of the cores, whatever its model asks for.
  const cap = (envCount('TFPIPE_WASM_MAX_THREADS', false) as number | undefined) ?? MAX_WASM_THREADS;
  return Math.max(1, Math.min(MAX_WASM_THREADS, cap, Math.floor(n)));
}

/**
 * How many threads the wasm backend starts with (wins over TFPIPE_WASM_THREADS). Takes effect when
 * the backend is initialised: call it before the first `tf.setBackend('wasm')`. 1 runs the stock
 * single-threaded build.
 */
export function setWasmThreads(threads: number | 'auto'): void {
  if (threads !== 'auto' && (!Number.isInteger(threads) || threads < 1)) throw new Error(`wasm threads must be 'auto' or a whole number >= 1, received ${threads}`);
  requested = threads;
}

/** The XNNPACK threads of the running wasm backend (1 for the single-threaded build); undefined before it starts. */
export function wasmThreadsInUse(): number | undefined {
  if (!(tf.engine().registry as Record<string, unknown>).wasm) return undefined;
  return Math.max(1, getThreadsCount());
}

/** Why the last initialisation fell back to the single-threaded build, if it did. */
export function wasmThreadsFallbackReason(): string | undefined {
  return lastFallback;
}

/** Whether a model config or a tfjs-layers topology has a convolution anywhere (a `type`/`class_name` like conv2d, cnn). */
function hasConvolution(v: unknown, depth = 0): boolean {
  if (depth > 64 || v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => hasConvolution(x, depth + 1));
  return Object.entries(v).some(
    ([k, x]) => ((k === 'type' || k === 'class_name' || k === 'className') && typeof x === 'string' && /conv|^cnn$/i.test(x)) || hasConvolution(x, depth + 1),
  );
}

/**
 * The thread count that pays off for a model, from its config (`model:` of a pipeline) or its tfjs-layers
 * topology (model.json): 'auto' when it has convolutions (XNNPACK's threads: MNIST CNN 1.3x training,
 * 1.6x inference on 2 cores), else 1 (an MLP, LSTM or Transformer ran 10-40% slower on 2 threads: the
 * per-op hand-off to the pool costs more than splitting their small matmuls gains).
 */
export function wasmThreadsFor(model: unknown): number | 'auto' {
  return hasConvolution(model) ? 'auto' : 1;
}

/**
 * Replaces the 'wasm' backend factory with one that starts the threaded build (when more than one
 * thread is asked for) and falls back to the stock single-threaded one if that fails. Does nothing if
 * the wasm backend is already running (its tensors would be lost).
 */
export function installThreadedWasm(): void {
  if (installed) return;
  installed = true;
  const registry = tf.engine().registry as Record<string, unknown>;
  if (registry.wasm) return;
  const stock = tf.findBackendFactory('wasm');
  if (!stock) return;
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      installRecurrentFusion(); // tfjs-layers is loaded by the time a backend starts, if it is used at all
      const threads = resolveWasmThreads();
      lastFallback = undefined;
      if (threads > 1) {
        try {
          const module = await startThreadedModule(threads);
          setThreadsCount(threads);
          const backend = new BackendWasm(module as never);
          unrefWorkers(module);
          return backend;
        } catch (e) {
          lastFallback = (e as Error).message;
          console.warn(`[tfpipe] the threaded wasm build did not start (${lastFallback}); using the single-threaded one`);
        }
      }
      setThreadsCount(1);
      return stock();
    },
    2,
  );
}
