/**
 * The one small interface for state that Exotel's follow-up HTTP requests need (transfer
 * decisions, call outcomes, outbound call plans, dynamic-URL tokens): string values with an expiry.
 * Two implementations: `MemoryStore` (one process: local runs, the demo, a single instance) and
 * `RedisStore` (./redis-store.ts: every instance of a Cloud Run service sees the same state).
 */

export interface StateStore {
  /** "memory" or "redis", for logs and /health. */
  readonly kind: string;
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlMs` (after which `get` answers undefined). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export class StoreTimeoutError extends Error {
  override readonly name = "StoreTimeoutError";
}

/** Sweep expired entries at most this often (reads also expire lazily). */
const SWEEP_MS = 30_000;

export class MemoryStore implements StateStore {
  readonly kind = "memory";
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(this.sweep, SWEEP_MS);
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private readonly sweep = (): void => {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  };
}

/** Rejects with StoreTimeoutError when `work` takes longer than `ms`. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(`state store: ${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
