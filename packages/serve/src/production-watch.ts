import { type FSWatcher, watch } from 'node:fs';
import { PRODUCTION_FILE } from './production.js';

/**
 * Calls `check` when a runs folder's `production` pointer may have changed: on file-system events for it
 * (the atomic write is a rename in that folder) and every `pollMs` as well, for file systems without
 * events. Checks never overlap; a change during a check runs one more check after it.
 */
export class PointerWatcher {
  private fsWatcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly runsDir: string,
    private readonly pollMs: number,
    private readonly check: () => Promise<void>,
  ) {}

  start(): void {
    if (this.stopped || this.timer) return;
    try {
      this.fsWatcher = watch(this.runsDir, { persistent: false }, (_event, name) => {
        if (name === null || String(name) === PRODUCTION_FILE) this.kick();
      });
      this.fsWatcher.on('error', () => {
        this.fsWatcher?.close();
        this.fsWatcher = undefined; // polling alone from here on
      });
    } catch {
      this.fsWatcher = undefined;
    }
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Runs a check now (or right after the one running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.check();
        } catch {
          // check() reports its own failures; the watcher goes on.
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
  }

  /** Stops watching; resolves when a check under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.fsWatcher?.close();
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
