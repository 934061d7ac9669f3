import * as tf from '@tensorflow/tfjs-core';
import { installChainedOps } from './chained-ops.js';
import { TfpipeError } from './errors.js';

/** What a config may ask for. `auto` tries tensorflow-gpu, tensorflow, wasm, cpu in that order. */
export type BackendRequest = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = Exclude<BackendRequest, 'auto'>;
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendChoice {
  /** The backend in use. */
  name: BackendName;
  /** tfjs's own name for it ('tensorflow', 'wasm', 'cpu'). */
  tfName: string;
  /** Why the ones tried before it were passed over (for `auto`). */
  skipped: { name: BackendName; reason: string }[];
}

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};
const TF_NAMES: Record<BackendName, string> = { 'tensorflow-gpu': 'tensorflow', tensorflow: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

/** A backend whose package is absent: `auto` passes it over as "not installed" (told by class, not by message). */
class BackendNotInstalled extends TfpipeError {}

function isNotInstalled(e: unknown, pkg: string): boolean {
  const err = e as NodeJS.ErrnoException;
  return (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && String(err.message).includes(pkg);
}

/** Starts one backend; returns a detail for the log line (the wasm backend's thread count). */
async function tryBackend(name: BackendName): Promise<string> {
  const pkg = PACKAGES[name];
  // A variable specifier: the optional peers are looked up at run time, never required at install time.
  const spec: string = pkg;
  let mod: { getThreadsCount?: () => number };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (e) {
    if (isNotInstalled(e, pkg)) {
      throw new BackendNotInstalled('E_BACKEND', `backend "${name}" needs ${pkg}, which is not installed`, {
        hint: `Install it next to tfpipe: npm install ${pkg}@4.22.0${name.startsWith('tensorflow') ? ' (its install script downloads libtensorflow, so it needs internet access)' : ''}; or use backend: auto.`,
        cause: e,
      });
    }
    throw new TfpipeError('E_BACKEND', `backend "${name}": ${pkg} is installed but failed to load: ${(e as Error).message}`, {
      hint: 'Reinstall the package, or use backend: wasm or cpu.',
      cause: e,
    });
  }
  const ok = await tf.setBackend(TF_NAMES[name]);
  if (!ok) throw new TfpipeError('E_BACKEND', `backend "${name}" is registered but failed to initialise`);
  await tf.ready();
  // The cpu backend prints a banner on first use suggesting tfjs-node; our own "backend: ..." line says
  // what was chosen and why, so silence it.
  if (name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  if (name === 'wasm' && typeof mod.getThreadsCount === 'function') {
    const n = Math.max(1, mod.getThreadsCount());
    return ` (${n} thread${n === 1 ? '' : 's'})`;
  }
  return '';
}

/**
 * Selects and initialises a backend. `auto` tries tensorflow-gpu, then tensorflow (when the optional
 * peers are installed), then wasm, then cpu, and reports what it skipped and why.
 */
export async function useBackend(
  requested: BackendRequest = 'auto',
  options: { log?: (message: string) => void } = {},
): Promise<BackendChoice> {
  installChainedOps();
  const order: BackendName[] = requested === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [requested];
  const skipped: BackendChoice['skipped'] = [];
  for (const name of order) {
    try {
      const detail = await tryBackend(name);
      const choice = { name, tfName: TF_NAMES[name], skipped };
      options.log?.(
        `backend: ${name}${detail}${requested === 'auto' ? ` (auto; skipped ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ') || 'none'})` : ''}`,
      );
      return choice;
    } catch (e) {
      if (requested !== 'auto') throw e;
      const reason = e instanceof BackendNotInstalled ? 'not installed' : (e as Error).message;
      skipped.push({ name, reason });
    }
  }
  throw new TfpipeError('E_BACKEND', `no backend could be started: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
