/**
 * From what a call saw to its report: turns and latency (pure), the report of a call that never
 * connected, and saving a result (stereo WAV + JSON).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeWav, interleaveStereo } from "../wav.js";
import type { ExotelSampleRate } from "./socket.js";
import type { CallAudio, CallReport, CallResult, CallTurn } from "./types.js";

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Caller left, agent right. */
export function stereoRecording(audio: CallAudio): Buffer {
  return interleaveStereo(audio.caller, audio.agent);
}

/**
 * One turn per caller speech segment that ended before `endMs`: the first agent onset after it
 * (and before the next segment starts) answers it. Its latency is response latency as the caller
 * hears it, the bridge's definition seen from this side: from the end of the caller's speech to
 * the arrival of the agent's first audio frame.
 */
export function callerTurns(
  segments: ReadonlyArray<{ readonly startMs: number; readonly endMs: number }>,
  onsets: ReadonlyArray<{ readonly atMs: number; readonly arrivalMs: number }>,
  endMs: number,
): CallTurn[] {
  return segments
    .filter((s) => s.endMs <= endMs)
    .map((seg, i, all) => {
      const next = all[i + 1];
      const onset = onsets.find((o) => o.atMs > seg.endMs && (next === undefined || o.atMs < next.startMs));
      return {
        callerStartMs: seg.startMs,
        callerEndMs: seg.endMs,
        agentStartMs: onset === undefined ? null : Math.round(onset.atMs),
        latencyMs: onset === undefined ? null : Math.round(onset.arrivalMs - seg.endMs),
      };
    });
}

export function latencySummary(turns: readonly CallTurn[]): CallReport["latency"] {
  const lat = turns
    .map((t) => t.latencyMs)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  return {
    count: lat.length,
    avgMs: lat.length ? Math.round(lat.reduce((a, b) => a + b, 0) / lat.length) : null,
    minMs: lat[0] ?? null,
    medianMs: lat.length ? (lat[Math.floor((lat.length - 1) / 2)] as number) : null,
    maxMs: lat[lat.length - 1] ?? null,
  };
}

/** The report of a call whose WebSocket never opened (refused upgrade, bad URL, no route). */
export function refusedResult(
  message: string,
  status: number | undefined,
  url: string,
  rate: ExotelSampleRate,
  startedAt: Date,
  timeline: CallReport["timeline"],
): CallResult {
  return {
    report: {
      ok: false,
      failures: [message],
      url,
      sampleRate: rate,
      streamSid: "",
      callSid: "",
      startedAt: startedAt.toISOString(),
      handshakeMs: null,
      firstAgentAudioMs: null,
      durationMs: 0,
      turns: [],
      latency: { count: 0, avgMs: null, minMs: null, medianMs: null, maxMs: null },
      audio: { callerSentS: 0, callerSpeechS: 0, agentReceivedS: 0, agentPlayedS: 0, agentClearedS: 0 },
      frames: { mediaReceived: 0, sizes: {}, violations: 0, violationSamples: [], otherEvents: {} },
      maxQueuedAheadMs: 0,
      marks: { received: 0, echoed: 0 },
      clears: 0,
      interruptions: [],
      dtmfSent: "",
      end: {
        by: status === undefined ? "error" : "refused",
        code: null,
        reason: message,
        atMs: 0,
        ...(status !== undefined && { status }),
      },
      timeline,
    },
    audio: { sampleRate: rate, caller: Buffer.alloc(0), agent: Buffer.alloc(0) },
  };
}

/**
 * Writes `<base>.json` (the report, plus `extra` fields) into `dir`, creating it, and `<base>.wav`
 * (stereo: caller left, agent right, as heard) when the call connected: a call that never
 * connected has no audio, and an empty WAV would only look like a broken recording.
 * Returns the paths written (`wav` undefined when none).
 */
export function saveCall(
  result: CallResult,
  dir: string,
  base: string,
  extra: Record<string, unknown> = {},
): { wav: string | undefined; json: string } {
  mkdirSync(dir, { recursive: true });
  const connected = result.report.end.by === "caller" || result.report.end.by === "bridge";
  const wav = connected ? join(dir, `${base}.wav`) : undefined;
  const json = join(dir, `${base}.json`);
  if (wav !== undefined)
    writeFileSync(wav, encodeWav(stereoRecording(result.audio), result.audio.sampleRate, 2));
  writeFileSync(json, `${JSON.stringify({ ...result.report, recording: wav ?? null, ...extra }, null, 2)}\n`);
  return { wav, json };
}
