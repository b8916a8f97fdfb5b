/**
 * conversation_id -> call_sid for calls that ended on this instance, so an ElevenLabs post-call
 * webhook (minutes later) can be tied to the Exotel call. Bounded in both time and size: entries
 * expire after `ttlMs`, and past `maxEntries` the oldest go first. A Map keeps insertion order, so
 * the oldest entry is always the first one and expiry never scans the whole map.
 */
import type { CallSummary } from "../call/summary.js";
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  set(key: string, value: V): void {
    const now = this.now();
    this.expire(now);
    // Re-inserting moves the key to the end (newest).
    this.entries.delete(key);
    this.entries.set(key, { value, expires: now + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  get size(): number {
    this.expire(this.now());
    return this.entries.size;
  }

  private expire(now: number): void {
    for (const [key, e] of this.entries) {
      if (e.expires > now) return;
      this.entries.delete(key);
    }
  }
}

/** The join table of one bridge process. */
export class ConversationIndex {
  private readonly calls: ExpiringMap<string>;

  constructor(ttlMs: number, maxEntries: number, now?: () => number) {
    this.calls = new ExpiringMap(ttlMs, maxEntries, now);
  }

  /** Call when a call ends and both ids are known; empty ids are ignored. */
  rememberConversation(conversationId: string, callSid: string): void {
    if (conversationId === "" || callSid === "" || conversationId.length > 128 || callSid.length > 128)
      return;
    this.calls.set(conversationId, callSid);
  }

  /** A CallHooks `ended` listener: takes the ids from the call summary. */
  readonly onCallEnded = (summary: Pick<CallSummary, "conversation_id" | "call_sid">): void => {
    this.rememberConversation(summary.conversation_id, summary.call_sid);
  };

  callSidFor(conversationId: string): string | undefined {
    return this.calls.get(conversationId);
  }

  get size(): number {
    return this.calls.size;
  }
}
