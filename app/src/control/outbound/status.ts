/**
 * `GET|POST /exotel/status`: Exotel's StatusCallback for calls placed by `POST /calls`, behind the
 * same credential as the applets. Exotel posts once the call is over (form or JSON, depending on
 * StatusCallbackContentType) with CallSid, Status (completed, failed, busy, no-answer),
 * RecordingUrl, DateUpdated and, for the `terminal` event, ConversationDuration and more.
 *
 * Each report lands in three places: the call's record in the state store
 * (`call:{CallSid}:outbound`), the `exotel_bridge_outbound_calls_total{status}` counter, and one
 * `outbound_status` log line. Always answered 200 once authenticated: Exotel retries a non-2xx, and
 * a retry would only repeat what is already logged.
 */
import type express from "express";
import type { Request, Response } from "express";
import { Counter, type Registry } from "prom-client";
import type { Logger } from "../../log.js";
import { exotelRoute, param } from "../exotel-request.js";
import type { CallRecords, OutboundRecord } from "../state/call-records.js";

/** Statuses Exotel documents for a finished call; anything else is counted as `other`. */
export const FINAL_STATUSES = new Set(["completed", "failed", "busy", "no-answer", "canceled"]);

/** The `outbound_status` log record. */
export interface OutboundStatusLog {
  readonly event: "outbound_status";
  readonly call_sid: string;
  readonly status: string;
  readonly exotel_event?: string;
  readonly duration_s?: number;
  readonly recording_url?: string;
  readonly to?: string;
  /** False when no record of the call was found (placed by another deployment, or expired). */
  readonly known: boolean;
}

/** The outbound counter, registered into the bridge's registry once routes are mounted. */
export class OutboundMetrics {
  private counter: Counter<"status"> | undefined;

  attach(registry: Registry): void {
    if (this.counter !== undefined) return;
    const existing = registry.getSingleMetric("exotel_bridge_outbound_calls_total");
    this.counter =
      (existing as Counter<"status"> | undefined) ??
      new Counter({
        name: "exotel_bridge_outbound_calls_total",
        help: "Calls placed through POST /calls, by Exotel's final status (placed, completed, busy, no-answer, failed, other)",
        labelNames: ["status"] as const,
        registers: [registry],
      });
  }

  count(status: string): void {
    this.counter?.labels(status).inc();
  }
}

function seconds(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,6}$/.test(v)) return undefined;
  return Number(v);
}

export function statusRoutes(
  router: express.Router,
  auth: express.RequestHandler,
  deps: { readonly log: Logger; readonly records: CallRecords; readonly metrics: OutboundMetrics },
): void {
  const { log, records, metrics } = deps;
  const handler = async (req: Request, res: Response): Promise<void> => {
    const callSid = param(req, "CallSid");
    const raw = (param(req, "Status", "CallStatus") ?? "").toLowerCase();
    if (callSid === undefined || callSid.length > 128) {
      log.warn({ event: "outbound_status_invalid" }, "Exotel status callback without a CallSid ignored");
      res.status(200).end();
      return;
    }
    const eventType = param(req, "EventType")?.slice(0, 32);
    const status = FINAL_STATUSES.has(raw) ? raw : raw === "" ? "unknown" : "other";
    const durationS = seconds(param(req, "ConversationDuration", "Duration", "DialCallDuration"));
    const recording = param(req, "RecordingUrl");
    const recordingUrl = recording !== undefined && /^https?:\/\//.test(recording) ? recording : undefined;
    // An `answered` event is progress, not an outcome: logged, not counted.
    const final = eventType === undefined || eventType.toLowerCase() === "terminal";

    let previous: OutboundRecord | undefined;
    try {
      previous = await records.getOutbound(callSid);
      // Only calls this deployment placed get a record: a report about any other SID is logged
      // (known: false) but creates no state.
      if (final && previous !== undefined)
        await records.putOutbound(callSid, {
          ...previous,
          status,
          ...(durationS !== undefined && { durationS }),
          ...(recordingUrl !== undefined && { recordingUrl }),
          reportedAt: new Date().toISOString(),
        });
    } catch (err) {
      log.error(
        {
          event: "state_write_failed",
          what: "outbound_status",
          call_sid: callSid,
          err: { message: (err as Error).message },
        },
        "could not store the outbound call's status",
      );
    }
    if (final) metrics.count(status);
    const line: OutboundStatusLog = {
      event: "outbound_status",
      call_sid: callSid,
      status: raw === "" ? "unknown" : raw.slice(0, 32),
      ...(eventType !== undefined && { exotel_event: eventType }),
      ...(durationS !== undefined && { duration_s: durationS }),
      ...(recordingUrl !== undefined && { recording_url: recordingUrl }),
      ...(previous?.to !== undefined && previous.to !== "" && { to: previous.to }),
      known: previous !== undefined,
    };
    log.info(
      { ...line, "logging.googleapis.com/labels": { call_sid: callSid } },
      `outbound call ${line.status}${eventType !== undefined ? ` (${eventType})` : ""}`,
    );
    res.status(200).end();
  };
  exotelRoute(router, "/exotel/status", auth, handler);
}
