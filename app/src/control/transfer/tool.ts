/**
 * Transfer to a human. The agent calls the client tool (TRANSFER_TOOL_NAME, default
 * `transfer_to_human`, optional parameters `team`, `number`, `reason`); the bridge records the
 * decision under the call's CallSid, answers the agent, and closes the Exotel stream once the
 * agent has finished its sentence. Exotel's flow then moves on:
 *
 *   Voicebot ──(stream closed)──▶ Passthru GET /exotel/passthru ──200──▶ Connect (GET /exotel/connect) ──▶ human
 *                                                               └─302──▶ Hangup
 *
 * Passthru answers 200 when the agent asked for a transfer (or, with TRANSFER_ON_FAILURE, when the
 * agent failed), 302 when the call is finished (end_call, agent hung up, anything else).
 * Connect answers the destination: the team's numbers, the default numbers, or an empty list
 * (the applet's own "not connected" branch) when none.
 */
import type { ClientToolHandler } from "../../call/tools.js";
import type { EndReason } from "../../call-endings.js";
import type { ControlConfig } from "../../config/control.js";
import type { Logger } from "../../log.js";
import { normalizeNumber } from "../routing/table.js";
import type { CallOutcome, CallRecords, TransferDecision } from "../state/call-records.js";

/** End reasons that count as "the agent failed" for TRANSFER_ON_FAILURE. */
export const FAILURE_REASONS: ReadonlySet<EndReason> = new Set<EndReason>([
  "agent_error",
  "agent_disconnected",
  "agent_connect_failed",
  "agent_timeout",
  "call_refused",
  "slow_peer",
  "server_shutdown",
  "internal_error",
]);

export type Destinations = Readonly<Record<string, readonly string[]>>;

export class TransferError extends Error {
  override readonly name = "TransferError";
}

/** Where a transfer request goes; throws TransferError with a sentence the agent can act on. */
export function chooseDestination(
  destinations: Destinations,
  params: Readonly<Record<string, unknown>>,
): { team?: string; numbers: readonly string[] } {
  const teams = Object.keys(destinations).filter((t) => t !== "default");
  const team = typeof params.team === "string" ? params.team.trim().toLowerCase() : "";
  const number = typeof params.number === "string" ? params.number.trim() : "";
  const configured = Object.keys(destinations).length > 0;
  const list = teams.length > 0 ? ` Teams: ${teams.join(", ")}.` : "";

  if (number !== "") {
    // Only numbers already in the configuration: a caller must not talk the agent into dialling
    // an arbitrary (premium, international) number on the business's account.
    const want = normalizeNumber(number);
    for (const [t, nums] of Object.entries(destinations)) {
      const hit = nums.find((n) => normalizeNumber(n) === want);
      if (hit !== undefined) return { ...(t !== "default" && { team: t }), numbers: [hit] };
    }
    throw new TransferError(`The number ${number} is not a permitted transfer destination.${list}`);
  }
  if (team !== "" && team !== "default") {
    const nums = destinations[team];
    if (nums === undefined) {
      if (configured) throw new TransferError(`There is no team called "${team}".${list}`);
      return { team, numbers: [] };
    }
    return { team, numbers: nums };
  }
  // No destinations configured: the flow's own Connect applet decides (static number).
  return { numbers: destinations.default ?? [] };
}

export interface TransferToolDeps {
  readonly config: ControlConfig["transfer"];
  readonly records: CallRecords;
  /** Per-call destinations (route's transfer_numbers over TRANSFER_NUMBERS). */
  readonly destinationsFor: (callId: string) => Destinations;
}

export function transferTool(deps: TransferToolDeps): ClientToolHandler {
  return async (params, ctx) => {
    const choice = chooseDestination(deps.destinationsFor(ctx.info.callId), params);
    const reason = typeof params.reason === "string" ? params.reason.slice(0, 500) : undefined;
    const decision: TransferDecision = {
      ...(choice.team !== undefined && { team: choice.team }),
      numbers: choice.numbers,
      ...(reason !== undefined && { reason }),
      at: new Date().toISOString(),
    };
    if (ctx.callSid === "")
      throw new TransferError("This call has no call SID, so it cannot be transferred.");
    try {
      await deps.records.putTransfer(ctx.callSid, decision);
    } catch (err) {
      // Keep going: the Connect applet falls back to the default destination.
      ctx.log.error(
        { event: "transfer_state_failed", err: { message: (err as Error).message } },
        "could not store the transfer decision",
      );
    }
    ctx.log.info(
      { event: "transfer_requested", team: choice.team, numbers: choice.numbers.length, reason },
      "agent asked to transfer the caller",
    );
    ctx.call.endWhenAgentDone(
      "agent_transfer",
      choice.team ? `team ${choice.team}` : reason,
      deps.config.maxWaitMs,
    );
    const who = choice.team ? `the ${choice.team} team` : "a colleague";
    return `Transfer arranged: the caller will be connected to ${who} as soon as you finish speaking. Tell them briefly that you are transferring them now, then stop talking.`;
  };
}

/** Passthru's verdict for a call. */
export type PassthruVerdict =
  | { readonly status: 200; readonly branch: "transfer" | "fallback" }
  | { readonly status: 302; readonly branch: "finished" };

export function passthruVerdict(
  transfer: TransferDecision | undefined,
  outcome: CallOutcome | undefined,
  onFailure: boolean,
): PassthruVerdict {
  if (transfer !== undefined) return { status: 200, branch: "transfer" };
  if (onFailure && outcome !== undefined && FAILURE_REASONS.has(outcome.endReason as EndReason))
    return { status: 200, branch: "fallback" };
  return { status: 302, branch: "finished" };
}

/** Waits (bounded) for a still-finishing call to record its transfer decision or outcome. */
export async function awaitOutcome(
  records: CallRecords,
  callSid: string,
  waitMs: number,
  log: Logger,
): Promise<{ transfer: TransferDecision | undefined; outcome: CallOutcome | undefined }> {
  const deadline = Date.now() + waitMs;
  let transfer: TransferDecision | undefined;
  let outcome: CallOutcome | undefined;
  let active = false;
  let warned = false;
  for (;;) {
    try {
      [transfer, outcome] = await Promise.all([records.getTransfer(callSid), records.getOutcome(callSid)]);
      if (transfer !== undefined || outcome !== undefined) break;
      // Only wait for calls a bridge is still finishing; an unknown call has nothing to wait for.
      if (!active) active = await records.isActive(callSid);
      if (!active) break;
    } catch (err) {
      // A slow or flapping store: keep trying within the wait, since answering "finished" would
      // hang up on a caller the agent meant to transfer.
      if (!warned) {
        warned = true;
        log.warn(
          { event: "state_read_failed", err: { message: (err as Error).message } },
          "state store read failed; retrying until PASSTHRU_WAIT_MS",
        );
      }
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { transfer, outcome };
}
