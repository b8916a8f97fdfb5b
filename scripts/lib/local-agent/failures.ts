/**
 * Failures on purpose, as the real service shows them: what happens once the conversation would
 * start (error event + 1008, flat error + 1002, silence, a 1011 close, a dropped connection).
 * The HTTP-side ones (`bad_key`, `unknown_agent`) live in the server; `slow_first_audio` in the script.
 */
import type { AgentFailure } from "./types.js";

/** What a failure needs from the conversation it breaks. */
export interface FailureTarget {
  sendJson(obj: Record<string, unknown>): void;
  close(code: number, reason: string): void;
  drop(): void;
  later(fn: () => void, ms: number): void;
  log(line: string): void;
}

/** Typed `error` event (error_event shape), then close 1008: how a configuration error looks. */
export function fail1008(conv: FailureTarget, errorType: string, message: string): void {
  conv.log(`error ${errorType}: ${message}; closing 1008`);
  conv.sendJson({
    type: "error",
    error_event: { code: 1008, message, error_type: errorType, reason: message },
  });
  conv.close(1008, errorType);
}

/** Flat `{"type":"error","message":...}`, then close 1002: how an operational failure looks. */
export function flatError(
  conv: FailureTarget,
  message = "Quota exceeded (local test agent failure mode)",
): void {
  conv.sendJson({ type: "error", message });
  conv.close(1002, "local test agent: operational failure (failure mode)");
}

/**
 * Applies `failure` when the conversation would start. Returns "stop" when metadata must not be
 * sent (the failure replaces it), "go" otherwise (a failure may be scheduled for later).
 */
export function onConversationStart(conv: FailureTarget, failure: AgentFailure | undefined): "stop" | "go" {
  switch (failure?.kind) {
    case "silence":
      conv.log("failure mode silence: never sending metadata");
      return "stop";
    case "error_1008":
      fail1008(
        conv,
        failure.errorType ?? "missing_dynamic_variable",
        failure.message ?? "Missing required dynamic variables: customer_name",
      );
      return "stop";
    case "flat_error_1002":
      if (failure.afterMs === undefined) {
        flatError(conv, failure.message);
        return "stop";
      }
      conv.later(() => flatError(conv, failure.message), failure.afterMs);
      return "go";
    case "close_1011":
      conv.later(() => conv.close(1011, "local test agent: internal error (failure mode)"), failure.afterMs);
      return "go";
    case "drop":
      conv.later(() => conv.drop(), failure.afterMs);
      return "go";
    default:
      return "go";
  }
}
