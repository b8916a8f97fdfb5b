/**
 * Caller -> agent audio for one call. Each Exotel media payload goes up as it arrives, as one
 * `user_audio_chunk` (no batching). When the agent's input format equals the stream's, the base64
 * is forwarded untouched (the passthrough path: no decode, no re-encode); otherwise it is decoded,
 * converted and re-encoded. A mu-law stream to a `ulaw_8000` agent is passthrough too (one byte per
 * sample, so no alignment to keep). Until the agent announces its format, the most recent audio is kept
 * (bounded), so the caller's first "hello?" is not lost while the agent connects.
 */
import { type AudioConverter, createConverter } from "../audio/converter.js";
import type { AudioFormat } from "../audio/formats.js";
import { ulawToPcm16 } from "../audio/mulaw.js";
import { decodeBase64Transient, Pcm16Aligner } from "../audio/pcm16.js";
import { userAudioFrame } from "../elevenlabs/frames.js";

export class CallerUplink {
  private configured = false;
  private converter: AudioConverter | null = null;
  private passthrough = false;
  /** Caller payloads are mu-law: no PCM16 alignment, and the recording tap needs them decoded. */
  private ulaw = false;
  private readonly aligner = new Pcm16Aligner();
  private pending: Array<{ readonly b64: string; readonly bytes: number; readonly ms: number }> = [];
  private pendingMs = 0;

  constructor(
    /** Sends one agent frame. */
    private readonly send: (frame: string) => void,
    /** Audio kept while the agent connects. */
    private readonly preconnectMs: number,
    /** Receives decoded caller PCM when a recording runs (forces a decode on the passthrough path). */
    private readonly tap: () => ((pcm: Buffer) => void) | undefined,
    /**
     * Hears every payload as the stream carries it (PCM16, or mu-law: the end-of-speech detector
     * reads both), preconnect audio included. The bytes are the strict check's decode, reused:
     * no second decode, and valid only during the call.
     */
    private readonly voice: (payload: Buffer) => void = () => {},
  ) {}

  /** From conversation metadata: flushes what was kept while connecting. */
  configure(stream: AudioFormat, agentInput: AudioFormat, quality: number): void {
    this.converter = createConverter(stream, agentInput, quality);
    this.passthrough = this.converter === null;
    this.ulaw = stream.encoding === "ulaw";
    this.configured = true;
    const pending = this.pending;
    this.pending = [];
    this.pendingMs = 0;
    for (const p of pending) this.forward(p.b64, p.bytes);
  }

  /** One Exotel media payload (strict base64, `bytes` long, `ms` of audio). */
  accept(b64: string, bytes: number, ms: number): void {
    this.voice(decodeBase64Transient(b64));
    if (this.configured) {
      this.forward(b64, bytes);
      return;
    }
    this.pending.push({ b64, bytes, ms });
    this.pendingMs += ms;
    while (this.pendingMs > this.preconnectMs && this.pending.length > 1) {
      this.pendingMs -= (this.pending.shift() as { ms: number }).ms;
    }
  }

  private forward(b64: string, bytes: number): void {
    const tap = this.tap();
    if (tap !== undefined) {
      const raw = Buffer.from(b64, "base64");
      tap(this.ulaw ? ulawToPcm16(raw) : raw);
    }
    if (this.passthrough && (this.ulaw || ((bytes & 1) === 0 && !this.aligner.pending))) {
      this.send(userAudioFrame(b64));
      return;
    }
    if (this.converter !== null) {
      // Decoded once (the strict check's decode is reused), resampled without copies, encoded.
      this.converter.convertInto(decodeBase64Transient(b64), this.sendPcm);
      return;
    }
    const out = this.aligner.push(Buffer.from(b64, "base64"));
    if (out.length > 0) this.sendPcm(out);
  }

  private readonly sendPcm = (pcm: Buffer): void => {
    if (pcm.length > 0) this.send(userAudioFrame(pcm.toString("base64")));
  };

  destroy(): void {
    this.converter?.destroy();
    this.converter = null;
    this.pending = [];
  }
}
