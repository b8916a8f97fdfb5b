/**
 * The CallHooks of call control:
 * - plan: the call's plan as ./routing/resolve.ts decides it (a prepared plan, else the routing
 *   table, else the env defaults). Marks the call active in the store.
 * - tap: a stereo recording when recordings are on (a route or an outbound call may opt out).
 * - closing / ended: the call's outcome, for Passthru on whichever instance Exotel asks: written as
 *   soon as the call starts ending, then again with the recording link once the summary is out.
 * A store that fails or is slow never refuses a call: the routing table still applies.
 */
import type { AudioTap, CallHooks, CallInfo, CallPlan } from "../call/hooks.js";
import type { CallSummary } from "../call/summary.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { Recorder } from "./recording/recorder.js";
import { CALL_TOKEN_PARAM, toCallPlan } from "./routing/plans.js";
import { resolvePlan } from "./routing/resolve.js";
import type { RoutingTable } from "./routing/table.js";
import type { CallRecords } from "./state/call-records.js";
import type { Destinations } from "./transfer/tool.js";

interface PerCall {
  readonly callSid: string;
  readonly record: boolean;
  readonly destinations: Destinations;
  readonly at: number;
}

/** Per-call facts kept between plan, tap, tools and ended; swept after this long. */
const PER_CALL_MAX_MS = 3 * 3600 * 1000;

export interface ControlHooksDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly state: CallRecords;
  readonly routing: RoutingTable;
  readonly recorder: Recorder | undefined;
  /** Extra `ended` listeners (call log files...), run after the outcome is stored. */
  readonly onEnded?: ReadonlyArray<(summary: CallSummary) => void>;
  readonly now?: () => Date;
}

export class ControlHooks implements CallHooks {
  private readonly perCall = new Map<string, PerCall>();

  constructor(private readonly deps: ControlHooksDeps) {}

  /** Transfer destinations for a call: its route's over TRANSFER_NUMBERS. */
  readonly destinationsFor = (callId: string): Destinations =>
    this.perCall.get(callId)?.destinations ?? this.deps.config.control.transfer.numbers;

  readonly plan = async (info: CallInfo): Promise<CallPlan> => {
    const { config, state, routing, log } = this.deps;
    const resolved = await resolvePlan(
      { records: state, routing, overrides: config.agent.overrides, log },
      {
        token: info.customParameters[CALL_TOKEN_PARAM],
        callSid: info.callSid,
        // With Basic auth on, every stream proved Exotel's credential at the upgrade.
        callSidAuthenticated: config.exotel.basicAuth !== undefined,
        to: info.to,
        params: info.customParameters,
        now: this.now(),
      },
      "routing_table",
    );
    const prepared = resolved.by === "none" ? undefined : resolved.prepared;
    const source = prepared?.source ?? "default";
    const routeName = prepared?.route;
    const plan: CallPlan = prepared ? toCallPlan(prepared, source) : {};
    const route = routeName !== undefined ? routing.get(routeName) : undefined;
    const recordings = config.control.recordings !== undefined;
    this.sweep();
    this.perCall.set(info.callId, {
      callSid: info.callSid,
      record: recordings && prepared?.record !== false,
      destinations: route?.transferNumbers
        ? { ...config.control.transfer.numbers, ...route.transferNumbers }
        : config.control.transfer.numbers,
      at: Date.now(),
    });
    if (info.callSid !== "") {
      // Not awaited: Passthru only needs it once the stream has closed, long after this.
      state
        .markActive(info.callSid, config.limits.maxCallDurationMs + config.control.state.ttlMs)
        .catch((err: unknown) =>
          log.warn(
            { event: "state_write_failed", what: "active", err: { message: (err as Error).message } },
            "could not mark the call active in the state store",
          ),
        );
    }
    log.info(
      {
        event: "call_plan",
        call_sid: info.callSid,
        source,
        route: routeName,
        agent_id: plan.agentId,
        variables: plan.dynamicVariables ? Object.keys(plan.dynamicVariables) : undefined,
        required: plan.requiredVariables,
      },
      `call plan: ${source}${routeName ? ` (route ${routeName})` : ""}`,
    );
    return plan;
  };

  readonly tap = (info: CallInfo): AudioTap | undefined => {
    const recorder = this.deps.recorder;
    if (recorder === undefined || this.perCall.get(info.callId)?.record === false) return undefined;
    return recorder.tap(info);
  };

  /** The outcome as soon as it is known: Passthru may ask a moment after the stream closes. */
  readonly closing = (
    info: CallInfo,
    outcome: { readonly endReason: string; readonly endedBy: string },
  ): void => {
    if (info.callSid === "") return;
    this.deps.state
      .putOutcome(info.callSid, {
        endReason: outcome.endReason,
        endedBy: outcome.endedBy,
        at: new Date().toISOString(),
      })
      .catch((err: unknown) =>
        this.deps.log.warn(
          {
            event: "state_write_failed",
            what: "outcome",
            call_sid: info.callSid,
            err: { message: (err as Error).message },
          },
          "could not store the call outcome",
        ),
      );
  };

  readonly ended = (summary: CallSummary): void => {
    const callSid = summary.call_sid;
    for (const [id, pc] of this.perCall)
      if (pc.callSid === callSid && callSid !== "") this.perCall.delete(id);
    if (callSid !== "") {
      this.deps.state
        .putOutcome(callSid, {
          endReason: summary.end_reason,
          endedBy: summary.ended_by,
          at: new Date().toISOString(),
          ...(summary.recording !== undefined && { recording: summary.recording }),
        })
        .catch((err: unknown) =>
          this.deps.log.warn(
            {
              event: "state_write_failed",
              what: "outcome",
              call_sid: callSid,
              err: { message: (err as Error).message },
            },
            "could not store the call outcome",
          ),
        );
    }
    for (const listener of this.deps.onEnded ?? []) {
      try {
        listener(summary);
      } catch (err) {
        this.deps.log.warn({ event: "ended_listener_failed", err }, "call-ended listener failed");
      }
    }
  };

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private sweep(): void {
    const old = Date.now() - PER_CALL_MAX_MS;
    for (const [id, pc] of this.perCall) if (pc.at < old) this.perCall.delete(id);
  }
}
