/**
 * Per-call counters and the one `call_summary` record logged when a call ends. Kept apart from
 * the Call so the record's shape is visible in one place (log sinks and dashboards depend on it).
 */
import type { EndedBy, EndReason } from "../call-endings.js";

/** What a finished recording adds to the summary (see AudioTap.finish). */
export interface RecordingFacts {
  /** Where the recording is: a local file, or the object's URI once uploaded. */
  readonly recording?: string;
  readonly recording_s?: number;
  /** Set while an upload outlives the summary, or when it failed (the local file is linked then). */
  readonly recording_upload?: "pending" | "failed";
  readonly recording_error?: string;
}

/** Facts from outside the Call appended to its summary: route labels, the recording. */
export interface SummaryExtras extends RecordingFacts {
  readonly labels?: Readonly<Record<string, string>>;
}

export interface AgentCloseRecord {
  readonly code: number;
  readonly reason: string;
}

export interface AgentErrorRecord {
  readonly message: string;
  readonly type?: string;
  readonly code?: number;
}

/**
 * The one `call_summary` record per call: logged, handed to the `ended` hook (call control, call
 * log files) and to the call observer. Keys are snake_case because log queries use them as is.
 */
export interface CallSummary extends SummaryExtras {
  readonly event: "call_summary";
  readonly call_sid: string;
  readonly stream_sid: string;
  readonly account_sid: string;
  readonly conversation_id: string;
  readonly agent_id: string;
  readonly from: string;
  readonly to: string;
  readonly custom_parameters: Readonly<Record<string, string>>;
  readonly sample_rate: number;
  readonly agent_audio_formats: { readonly input: string; readonly output: string } | undefined;
  /** ISO 8601. */
  readonly started_at: string;
  readonly duration_s: number;
  readonly end_reason: EndReason;
  readonly ended_by: EndedBy;
  readonly end_detail: string | undefined;
  readonly agent_close: AgentCloseRecord | undefined;
  readonly agent_error: AgentErrorRecord | undefined;
  readonly setup_ms: number | undefined;
  readonly time_to_first_audio_ms: number | undefined;
  readonly response_latency_ms:
    | { readonly count: number; readonly avg: number; readonly max: number }
    | undefined;
  readonly caller_audio_s: number;
  readonly agent_audio_s: number;
  readonly agent_audio_heard_s: number;
  readonly agent_audio_cut_s: number;
  readonly frames_in: number;
  readonly frames_out: number;
  readonly interruptions: number;
  readonly late_agent_chunks_dropped: number;
  /** The last DTMF_KEPT digits received, oldest first (all of them on an ordinary call). */
  readonly dtmf: string;
  /** Every DTMF digit received, kept or not. */
  readonly dtmf_count: number;
  /** Digits over the per-call DTMF rate: not sent to the agent and not logged one by one. */
  readonly dtmf_dropped: number;
  readonly marks: { readonly sent: number; readonly echoed: number };
  readonly bad_frames: { readonly exotel: number; readonly agent: number };
  readonly agent_ping_ms: { readonly avg: number; readonly max: number } | undefined;
  readonly tool_calls: readonly string[] | undefined;
  readonly transcript_turns: number;
  readonly transcript: readonly TranscriptTurn[];
}

export interface TranscriptTurn {
  readonly role: "agent" | "user";
  readonly text: string;
  /** Seconds since the call started. */
  readonly at: number;
  readonly interrupted?: boolean;
}

/** DTMF digits kept for the summary: the last ones matter (the entry that ended the call). */
export const DTMF_KEPT = 64;
const MAX_TURNS = 200;
const MAX_TURN_CHARS = 1000;

export class CallStats {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  callerAudioMs = 0;
  agentAudioMs = 0;
  agentChunks = 0;
  lateAgentChunksDropped = 0;
  interruptions = 0;
  marksSent = 0;
  marksEchoed = 0;
  badExotelFrames = 0;
  badAgentFrames = 0;
  /** Recent digits; trimmed to DTMF_KEPT in batches, so a flood costs no copy per digit. */
  private dtmfTail = "";
  dtmfCount = 0;
  dtmfDropped = 0;
  transcriptTurns = 0;
  readonly transcript: TranscriptTurn[] = [];
  pingCount = 0;
  pingMsSum = 0;
  pingMsMax = 0;
  setupMs: number | undefined;
  firstAudioMs: number | undefined;
  /** Response latency as running totals: a long call keeps three numbers, not one per turn. */
  responseCount = 0;
  responseLatencySumMs = 0;
  responseLatencyMaxMs = 0;
  toolCalls: string[] = [];

  addResponseLatency(ms: number): void {
    this.responseCount++;
    this.responseLatencySumMs += ms;
    if (ms > this.responseLatencyMaxMs) this.responseLatencyMaxMs = ms;
  }

  addTurn(turn: TranscriptTurn): void {
    this.transcriptTurns++;
    if (this.transcript.length < MAX_TURNS) {
      this.transcript.push(
        turn.text.length > MAX_TURN_CHARS
          ? { ...turn, text: `${turn.text.slice(0, MAX_TURN_CHARS)}...` }
          : turn,
      );
    }
  }

  /** After a barge-in the agent sends the text the caller actually heard. */
  correctLastAgentTurn(corrected: string): void {
    for (let i = this.transcript.length - 1; i >= 0; i--) {
      const t = this.transcript[i] as TranscriptTurn;
      if (t.role === "agent") {
        this.transcript[i] = { ...t, text: corrected.slice(0, MAX_TURN_CHARS), interrupted: true };
        return;
      }
    }
  }

  addDtmf(digit: string): void {
    this.dtmfCount++;
    this.dtmfTail += digit;
    if (this.dtmfTail.length >= 4 * DTMF_KEPT) this.dtmfTail = this.dtmfTail.slice(-DTMF_KEPT);
  }

  get dtmf(): string {
    return this.dtmfTail.length > DTMF_KEPT ? this.dtmfTail.slice(-DTMF_KEPT) : this.dtmfTail;
  }

  addPing(ms: number): void {
    this.pingCount++;
    this.pingMsSum += ms;
    if (ms > this.pingMsMax) this.pingMsMax = ms;
  }
}

export interface SummaryInput {
  readonly callId: string;
  readonly callSid: string;
  readonly streamSid: string;
  readonly accountSid: string;
  readonly conversationId: string;
  readonly agentId: string;
  readonly from: string;
  readonly to: string;
  readonly sampleRate: number;
  readonly agentFormats: { readonly input: string; readonly output: string } | undefined;
  readonly customParameters: Readonly<Record<string, string>>;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly endReason: EndReason;
  readonly endedBy: EndedBy;
  readonly endDetail: string | undefined;
  readonly agentClose: AgentCloseRecord | undefined;
  readonly agentError: AgentErrorRecord | undefined;
  readonly heardAgentMs: number;
  readonly clearedAgentMs: number;
  readonly stats: CallStats;
  /** Hook-provided facts (route labels, recording link), appended as they are. */
  readonly extras?: SummaryExtras;
}

const round = (ms: number) => Math.round(ms);
const seconds = (ms: number) => Math.round(ms) / 1000;

export function buildSummary(s: SummaryInput): CallSummary {
  const st = s.stats;
  return {
    event: "call_summary",
    call_sid: s.callSid,
    stream_sid: s.streamSid,
    account_sid: s.accountSid,
    conversation_id: s.conversationId,
    agent_id: s.agentId,
    from: s.from,
    to: s.to,
    custom_parameters: s.customParameters,
    sample_rate: s.sampleRate,
    agent_audio_formats: s.agentFormats,
    started_at: s.startedAt.toISOString(),
    duration_s: seconds(s.durationMs),
    end_reason: s.endReason,
    ended_by: s.endedBy,
    end_detail: s.endDetail,
    agent_close: s.agentClose,
    agent_error: s.agentError,
    setup_ms: st.setupMs === undefined ? undefined : round(st.setupMs),
    time_to_first_audio_ms: st.firstAudioMs === undefined ? undefined : round(st.firstAudioMs),
    response_latency_ms:
      st.responseCount === 0
        ? undefined
        : {
            count: st.responseCount,
            avg: round(st.responseLatencySumMs / st.responseCount),
            max: round(st.responseLatencyMaxMs),
          },
    caller_audio_s: seconds(st.callerAudioMs),
    agent_audio_s: seconds(st.agentAudioMs),
    agent_audio_heard_s: seconds(s.heardAgentMs),
    agent_audio_cut_s: seconds(s.clearedAgentMs),
    frames_in: st.framesIn,
    frames_out: st.framesOut,
    interruptions: st.interruptions,
    late_agent_chunks_dropped: st.lateAgentChunksDropped,
    dtmf: st.dtmf,
    dtmf_count: st.dtmfCount,
    dtmf_dropped: st.dtmfDropped,
    marks: { sent: st.marksSent, echoed: st.marksEchoed },
    bad_frames: { exotel: st.badExotelFrames, agent: st.badAgentFrames },
    agent_ping_ms:
      st.pingCount === 0 ? undefined : { avg: round(st.pingMsSum / st.pingCount), max: round(st.pingMsMax) },
    tool_calls: st.toolCalls.length === 0 ? undefined : st.toolCalls,
    transcript_turns: st.transcriptTurns,
    transcript: st.transcript,
    ...s.extras,
  };
}
