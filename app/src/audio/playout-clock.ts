/**
 * The bridge's model of Exotel's playback queue, on a monotonic clock (performance.now()).
 * Exotel plays what it receives at real time; we keep at most `maxLeadMs` queued there, so a
 * `clear` on barge-in silences the agent fast and no burst ever exceeds what Exotel tolerates.
 */

export class PlayoutClock {
  /** Monotonic ms at which Exotel will have played everything sent so far. */
  private playEnd = 0;
  /** Totals for the call summary. */
  sentMs = 0;
  clearedMs = 0;

  queuedMs(now: number): number {
    return this.playEnd > now ? this.playEnd - now : 0;
  }

  /** True when a frame of `frameMs` fits under `maxLeadMs` of queued audio. */
  hasRoom(frameMs: number, maxLeadMs: number, now: number): boolean {
    return this.queuedMs(now) + frameMs <= maxLeadMs;
  }

  /** Records a frame sent at `now`; returns when it will have finished playing. */
  enqueue(frameMs: number, now: number): number {
    this.playEnd = Math.max(this.playEnd, now) + frameMs;
    this.sentMs += frameMs;
    return this.playEnd;
  }

  /** Exotel dropped its queue (we sent `clear`); returns the ms of audio that were cut. */
  clear(now: number): number {
    const cut = this.queuedMs(now);
    this.clearedMs += cut;
    this.playEnd = now;
    return cut;
  }

  /** Audio the caller has heard so far (sent, minus cut, minus still queued). */
  heardMs(now: number): number {
    return Math.max(0, this.sentMs - this.clearedMs - this.queuedMs(now));
  }
}
