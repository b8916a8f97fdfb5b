/**
 * Response latency as the caller hears it: from the end of the caller's speech (found in the
 * caller audio by an energy detector, audio/voice-activity.ts) to the first frame of the agent's
 * next response sent to Exotel. One number per response that follows caller speech; the summary,
 * the metric, the console and the call simulator all use this definition (README, "Latency").
 *
 * The end of speech is in audio time; it is placed on the call clock through the frame that
 * carried it: a payload received at `now` ends about `now`, so a voiced block that ended `x` ms of
 * audio before the payload's end ended at `now - x`. A response is matched to the caller's last
 * speech before its first frame, so a turn the agent takes early (before the detector's hangover
 * has run out) is still measured from where the caller stopped.
 */
import { VoiceActivity, type VoiceEncoding } from "../audio/voice-activity.js";

export class ResponseLatency {
  private readonly voice = new VoiceActivity();
  /** The detector's last voiced block as last seen (audio ms), to notice a new one. */
  private seenVoiceEndMs = -1;
  /** Call-clock time the caller last stopped speaking. */
  private voiceEndAt = -1;
  /** The caller spoke since the last response began. */
  private callerSpoke = false;
  /** A response has begun after caller speech; its first frame to Exotel is awaited. */
  private awaiting = false;

  /** The stream's format, from Exotel's `start` (before any caller audio). */
  setFormat(sampleRate: number, encoding: VoiceEncoding): void {
    this.voice.setFormat(sampleRate, encoding);
  }

  /** One caller payload as received (stream bytes), at call-clock `now`. Allocation-free. */
  caller(payload: Uint8Array, now: number): void {
    const v = this.voice;
    v.push(payload);
    if (v.lastVoiceEndMs === this.seenVoiceEndMs) return;
    this.seenVoiceEndMs = v.lastVoiceEndMs;
    this.voiceEndAt = now - (v.audioMs - v.lastVoiceEndMs);
    this.callerSpoke = true;
  }

  /** The first chunk of a new agent response was accepted. */
  responseStarted(): void {
    this.awaiting = this.callerSpoke;
    this.callerSpoke = false;
  }

  /** True while the next agent frame sent to Exotel closes a measured turn. */
  get pending(): boolean {
    return this.awaiting;
  }

  /** The first frame of that response went to Exotel at `now`: the latency in ms. */
  firstAudio(now: number): number | undefined {
    if (!this.awaiting) return undefined;
    this.awaiting = false;
    const latency = now - this.voiceEndAt;
    // Negative only if the response began while the caller was still speaking: no turn to measure.
    return latency >= 0 ? latency : undefined;
  }
}
