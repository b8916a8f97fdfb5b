/**
 * One timer for the whole process drives playout pacing for every call (a timer per call costs
 * a timer-list entry and a wake-up each per call; at hundreds of calls that shows in CPU).
 * A call registers while it has agent audio waiting and unregisters itself when done.
 */

export interface Tickable {
  /** Called every period with the monotonic time; return false to stop receiving ticks. */
  onTick(now: number): boolean;
}

export class Ticker {
  private readonly members = new Set<Tickable>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly periodMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  add(member: Tickable): void {
    this.members.add(member);
    if (this.timer === null) {
      this.timer = setInterval(this.tick, this.periodMs);
      // Pacing alone must never keep the process alive.
      this.timer.unref();
    }
  }

  delete(member: Tickable): void {
    this.members.delete(member);
    if (this.members.size === 0) this.stop();
  }

  get size(): number {
    return this.members.size;
  }

  stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private readonly tick = (): void => {
    const now = this.now();
    for (const m of this.members) {
      let keep = false;
      try {
        keep = m.onTick(now);
      } catch {
        // A member's own error handling ends its call; the ticker must keep serving the others.
      }
      if (!keep) this.members.delete(m);
    }
    if (this.members.size === 0) this.stop();
  };
}
