/**
 * A call's observer (call/observer.ts) that publishes into the console's feed: the bridge gives
 * each call one. It holds what Exotel's `start` said until the agent is chosen, then the card
 * appears (call_started); each observer event becomes one console event. Nothing here runs per
 * audio frame, and with no console page open the feed only does its bounded bookkeeping.
 */
import type { CallObserver, CallStartedEvent as ObservedStart } from "../call/observer.js";
import { callEndedEvent, callStartedEvent } from "./adapters.js";
import type { ConsoleFeed } from "./feed.js";

/** How caller audio reaches the agent, in words: "8 kHz PCM16 ↔ pcm_16000". */
function audioPath(start: ObservedStart, input: string, output: string): string {
  const agent = input === output ? input : `${input} in, ${output} out`;
  return `${start.sampleRate / 1000} kHz stream ↔ ${agent}`;
}

export function consoleObserver(feed: ConsoleFeed, now: () => number = Date.now): CallObserver {
  let start: ObservedStart | undefined;
  let shown = false;
  const show = (agentId: string, path?: string): void => {
    if (shown || start === undefined) return;
    shown = true;
    feed.publish(callStartedEvent(start, agentId, path, now()));
  };
  return {
    callStarted: (e) => {
      start = e;
    },
    agentConnected: (e) => {
      if (start !== undefined) show(e.agentId, audioPath(start, e.agentInputFormat, e.agentOutputFormat));
    },
    transcript: (e) => {
      if (e.corrected) feed.publish({ type: "agent_correction", callId: e.callId, at: now(), text: e.text });
      else
        feed.publish({
          type: "transcript",
          callId: e.callId,
          at: now(),
          role: e.role === "user" ? "caller" : "agent",
          text: e.text,
        });
    },
    responseStarted: (e) => {
      if (e.turnLatencyMs !== undefined)
        feed.publish({ type: "turn", callId: e.callId, at: now(), latencyMs: e.turnLatencyMs });
    },
    interruption: (e) => feed.publish({ type: "interruption", callId: e.callId, at: now() }),
    dtmf: (e) => feed.publish({ type: "dtmf", callId: e.callId, at: now(), digits: e.digit }),
    callEnded: (e) => {
      // A stream that never sent `start` names no call: nothing a person could recognise.
      if (start === undefined) return;
      // A call refused before its agent answered still gets its row, with who called whom.
      show(e.summary.agent_id);
      feed.publish(callEndedEvent(e.callId, e.summary, now()));
    },
  };
}
