/**
 * Exotel's applets after the Voicebot applet, for a transfer to a human:
 *
 *   GET|POST /exotel/passthru  200 = transfer (or fallback), 302 = finished
 *   GET|POST /exotel/connect   Programmable Connect: where to connect the caller (JSON, always 200;
 *                              no destination = empty list, see ./connect-reply.ts)
 */
import type express from "express";
import type { Request, Response } from "express";
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import { allParams, exotelLog, exotelRoute, param } from "../exotel-request.js";
import type { RoutingTable } from "../routing/table.js";
import type { CallRecords } from "../state/call-records.js";
import { connectReply } from "./connect-reply.js";
import { awaitOutcome, passthruVerdict } from "./tool.js";

export interface TransferRoutesDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly records: CallRecords;
  readonly routing: RoutingTable;
}

export function transferRoutes(
  router: express.Router,
  auth: express.RequestHandler,
  deps: TransferRoutesDeps,
): void {
  const { log, records, routing } = deps;
  const control = deps.config.control;

  const connect = async (req: Request, res: Response): Promise<void> => {
    const callSid = param(req, "CallSid");
    const to = param(req, "CallTo", "To") ?? "";
    const decision = callSid ? await records.getTransfer(callSid).catch(() => undefined) : undefined;
    let numbers = decision?.numbers ?? [];
    let source = decision ? `agent's transfer (${decision.team ?? "default"})` : "no transfer decision";
    if (numbers.length === 0) {
      // No decision (or one without numbers): the route's default, then TRANSFER_NUMBERS' default.
      const route = routing.match({ to, params: allParams(req), now: new Date() });
      numbers = route?.transferNumbers?.default ?? control.transfer.numbers.default ?? [];
      source += ", default destination";
    }
    exotelLog(
      log,
      req,
      "exotel_connect",
      `Exotel Connect: ${numbers.length > 0 ? source : "no destination configured"}`,
      {
        team: decision?.team,
        numbers: numbers.length,
      },
    );
    res.json(connectReply(numbers, control.transfer));
  };

  const passthru = async (req: Request, res: Response): Promise<void> => {
    const callSid = param(req, "CallSid");
    const { transfer, outcome } = callSid
      ? await awaitOutcome(records, callSid, control.transfer.passthruWaitMs, log)
      : { transfer: undefined, outcome: undefined };
    const verdict = passthruVerdict(transfer, outcome, control.transfer.onFailure);
    exotelLog(
      log,
      req,
      "exotel_passthru",
      `Exotel Passthru: ${verdict.status} ${verdict.branch}${outcome ? ` (call ended: ${outcome.endReason})` : ""}`,
      {
        status: verdict.status,
        branch: verdict.branch,
        end_reason: outcome?.endReason,
        stream_status: param(req, "Stream[Status]"),
        disconnected_by: param(req, "Stream[DisconnectedBy]"),
      },
    );
    res.status(verdict.status).type("text/plain").send(verdict.branch);
  };

  exotelRoute(router, "/exotel/connect", auth, connect);
  exotelRoute(router, "/exotel/passthru", auth, passthru);
}
