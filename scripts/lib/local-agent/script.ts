/**
 * The `script` and `echo` behaviour of a conversation: turns found by the energy VAD get a
 * `user_transcript` placeholder and a reply (the next shipped prompt, or the caller's own audio
 * in echo mode); speech while a reply is playing is a barge-in (`interruption`, the rest dropped,
 * `agent_response_correction`); a `user_message` is answered; after N replies heard in full, a
 * goodbye, `end_call` and close 1000.
 */
import { randomUUID } from "node:crypto";
import { msBytes } from "../audio.js";
import type { AgentConversation } from "./conversation.js";
import { truncateWords } from "./prompts.js";
import type { Utterance } from "./types.js";

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ConversationScript {
  private readonly turns: Array<{ startMs: number; endMs: number }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private pendingReply: NodeJS.Timeout | null = null;
  private replyChain: Promise<void> = Promise.resolve();
  private repliesCompleted = 0;
  private replyIndex = 0;
  private interruptedThisTurn = false;
  private ending = false;

  constructor(private readonly conv: AgentConversation) {}

  /** Caller turns found so far (a live read-only view). */
  get callerTurns(): ReadonlyArray<{ readonly startMs: number; readonly endMs: number }> {
    return this.turns;
  }

  private get options() {
    return this.conv.agent.options;
  }

  /** Once metadata has been sent: the greeting unless switched off, and tools due at 0 replies. */
  start(greeting: boolean): void {
    if (greeting) this.queueReply(() => this.conv.agent.prompts().greeting);
    this.replyChain = this.replyChain.then(() => this.callToolsDue());
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  onSpeechStart(atMs: number): void {
    // The caller started again before the reply began: the turn goes on.
    if (this.pendingReply) {
      clearTimeout(this.pendingReply);
      this.timers.delete(this.pendingReply);
      this.pendingReply = null;
    }
    const conv = this.conv;
    const cur = conv.currentResponse;
    const playing = conv.agentSpeaking || cur !== undefined;
    conv.log(
      `caller speech start at ${(atMs / 1000).toFixed(2)} s of caller audio${playing ? " (agent speaking)" : ""}`,
    );
    if (!playing || this.ending) return;
    // Barge-in: the response still playing is the last one started.
    const rec = cur ?? conv.responses[conv.responses.length - 1];
    if (rec === undefined) return;
    const heardMs = rec.startedAtMs < 0 ? 0 : Math.max(0, conv.now() - rec.startedAtMs);
    this.interruptedThisTurn = true;
    conv.interrupt(rec.eventId);
    const corrected = truncateWords(rec.text, heardMs / Math.max(1, rec.audioMs));
    conv.noteCorrection(rec.eventId, corrected);
    conv.log(`interrupted response ${rec.eventId} after ${(heardMs / 1000).toFixed(1)} s`);
    conv.sendJson({
      type: "agent_response_correction",
      agent_response_correction_event: {
        original_agent_response: rec.text,
        corrected_agent_response: corrected,
        event_id: rec.eventId,
      },
    });
  }

  onSpeechEnd(startMs: number, endMs: number): void {
    const conv = this.conv;
    this.turns.push({ startMs, endMs });
    const seconds = ((endMs - startMs) / 1000).toFixed(1);
    conv.sendUserTranscript(`(caller spoke ${seconds} s)`, conv.newEventId());
    if (this.ending) return;
    const afterInterruption = this.interruptedThisTurn;
    this.interruptedThisTurn = false;
    let utterance: Utterance;
    if (this.options.mode === "echo") {
      // Play back the caller's turn (with 100 ms either side), converted to the output format.
      const rate = conv.inputFormat.sampleRate;
      const all = conv.userAudioPcm();
      const from = msBytes(Math.max(0, startMs - 100), rate);
      const to = Math.min(all.length, msBytes(endMs + 100, rate));
      utterance = {
        text: `(echo of ${seconds} s of caller audio)`,
        pcm: all.subarray(from, to),
        sampleRate: rate,
      };
    } else {
      const p = conv.agent.prompts();
      if (afterInterruption) utterance = p.afterInterruption;
      else {
        utterance = p.replies[this.replyIndex % p.replies.length] as Utterance;
        this.replyIndex++;
      }
    }
    const delay = this.options.responseDelayMs ?? 300;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.pendingReply === t) this.pendingReply = null;
      this.queueReply(() => utterance, true);
    }, delay);
    this.timers.add(t);
    this.pendingReply = t;
  }

  onUserMessage(): void {
    if (this.ending) return;
    this.queueReply(() => this.conv.agent.prompts().afterUserMessage, true);
  }

  /** Replies play one after another; a reply waits until the previous one has been heard. */
  private queueReply(what: () => Utterance, countsAsReply = false): void {
    const conv = this.conv;
    this.replyChain = this.replyChain.then(async () => {
      if (!conv.isOpen || this.ending) return;
      const wait = conv.playEndAt - performance.now();
      if (wait > 0) await sleep(wait);
      if (!conv.isOpen || this.ending) return;
      const failure = this.options.failure;
      const delayAudioMs = !conv.audioSent && failure?.kind === "slow_first_audio" ? failure.delayMs : 0;
      const u = what();
      conv.log(`agent says: ${u.text}`);
      const rec = await conv.speak(u, { delayAudioMs });
      // Audio goes out faster than real time: a reply is complete once it has been heard in full.
      while (!rec.interrupted && conv.isOpen && performance.now() < conv.playEndAt) {
        await sleep(Math.min(50, conv.playEndAt - performance.now()));
      }
      if (countsAsReply && !rec.interrupted && conv.isOpen) {
        this.repliesCompleted++;
        await this.callToolsDue();
        const limit = this.options.endCallAfterReplies;
        if (limit !== undefined && this.repliesCompleted >= limit) await this.endCall();
      }
    });
    this.replyChain.catch((err: unknown) => conv.log(`reply failed: ${(err as Error).message}`));
  }

  /** Calls the scripted client tools due after the replies heard so far, one after another. */
  private async callToolsDue(): Promise<void> {
    const conv = this.conv;
    for (const t of this.options.toolCalls ?? []) {
      if (t.afterReplies !== this.repliesCompleted || !conv.isOpen || this.ending) continue;
      try {
        // The call and its result are narrated from the messages themselves.
        if (t.kind === "mcp_approval") await conv.requestMcpApproval(t.name, t.parameters ?? {});
        else await conv.callTool(t.name, t.parameters ?? {});
      } catch (err) {
        conv.log((err as Error).message);
      }
    }
  }

  /** Goodbye, `agent_tool_response` end_call, wait until the goodbye has played, close 1000. */
  private async endCall(): Promise<void> {
    const conv = this.conv;
    if (this.ending || !conv.isOpen) return;
    this.ending = true;
    const goodbye = conv.agent.prompts().goodbye;
    conv.log(`ending the call: ${goodbye.text}`);
    await conv.speak(goodbye);
    conv.sendJson({
      type: "agent_tool_response",
      agent_tool_response: {
        tool_name: "end_call",
        tool_call_id: `toolu_local_${randomUUID().slice(0, 8)}`,
        tool_type: "system",
        is_error: false,
        is_called: true,
        event_id: conv.newEventId(),
      },
    });
    const wait = conv.playEndAt - performance.now();
    if (wait > 0) await sleep(wait);
    conv.close(1000, "end_call");
  }
}
