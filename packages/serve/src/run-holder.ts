import type { LoadedRun } from '@tfpipe/pipeline';

/** A loaded run and how many requests still use it. */
export interface RunSlot<T> {
  readonly run: LoadedRun;
  /** Derived per-run data (schemas), built once at load. */
  readonly extra: T;
  readonly loadedAt: Date;
  refs: number;
  retired: boolean;
}

/** A request's hold on one run: it keeps that run's model alive until released. */
export interface RunLease<T> {
  readonly slot: RunSlot<T>;
  release(): void;
}

/**
 * Holds the current run for the server. A request takes a lease on the run current at its arrival and
 * keeps it to the end, so a hot reload swaps the run atomically for new requests while the ones in flight
 * finish on the old model; the old model is disposed when its last lease is released.
 */
export class RunHolder<T> {
  private slot: RunSlot<T>;
  private readonly disposeRun: (run: LoadedRun) => void;

  constructor(run: LoadedRun, extra: T, options: { dispose?: (run: LoadedRun) => void } = {}) {
    this.slot = { run, extra, loadedAt: new Date(), refs: 0, retired: false };
    this.disposeRun = options.dispose ?? ((r) => void r.dispose());
  }

  get current(): RunSlot<T> {
    return this.slot;
  }

  acquire(): RunLease<T> {
    const slot = this.slot;
    slot.refs++;
    let released = false;
    return {
      slot,
      release: () => {
        if (released) return;
        released = true;
        slot.refs--;
        this.maybeDispose(slot);
      },
    };
  }

  /** Makes `run` current; the previous run is disposed once no request holds it. Returns the previous run. */
  swap(run: LoadedRun, extra: T): LoadedRun {
    const old = this.slot;
    this.slot = { run, extra, loadedAt: new Date(), refs: 0, retired: false };
    old.retired = true;
    this.maybeDispose(old);
    return old.run;
  }

  /** Retires the current run (server shutdown): disposed now, or when its last request ends. */
  close(): void {
    this.slot.retired = true;
    this.maybeDispose(this.slot);
  }

  private maybeDispose(slot: RunSlot<T>): void {
    if (slot.retired && slot.refs === 0) {
      slot.refs = -1; // disposed once
      this.disposeRun(slot.run);
    }
  }
}
