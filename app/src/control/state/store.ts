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
  /** Reads and deletes in one step: of two concurrent takes of a key, at most one gets its value. */
  take(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export class StoreTimeoutError extends Error {
  override readonly name = "StoreTimeoutError";
}

/** Sweep expired entries at most this often (reads also expire lazily). */
const SWEEP_MS = 30_000;

/**
 * Default bound on what the store holds (keys and values, counted as UTF-16 code units x 2). A
 * busy instance keeps a few hundred bytes per call for CALL_STATE_TTL_S, so this is tens of
 * thousands of calls; past it the oldest entries go first, so memory stays bounded whatever arrives.
 */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

const sizeOf = (key: string, value: string) => (key.length + value.length) * 2 + 64;

export class MemoryStore implements StateStore {
  readonly kind = "memory";
  /** Insertion order is age order (a `set` re-inserts), so the first entry is the oldest. */
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private readonly sweeper: NodeJS.Timeout;
  private bytesHeld = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxBytes = DEFAULT_MAX_BYTES,
  ) {
    this.sweeper = setInterval(this.sweep, SWEEP_MS);
    this.sweeper.unref();
  }

  /** Approximate bytes held (keys and values). */
  get bytes(): number {
    return this.bytesHeld;
  }

  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.remove(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    this.bytesHeld += sizeOf(key, value);
    if (this.bytesHeld > this.maxBytes) {
      this.sweep();
      for (const oldest of this.entries.keys()) {
        if (this.bytesHeld <= this.maxBytes || oldest === key) break;
        this.remove(oldest);
      }
    }
  }

  async delete(key: string): Promise<void> {
    this.remove(key);
  }

  async take(key: string): Promise<string | undefined> {
    const value = await this.get(key);
    this.remove(key);
    return value;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.bytesHeld = 0;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytesHeld -= sizeOf(key, entry.value);
  }

  private readonly sweep = (): void => {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.remove(k);
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
