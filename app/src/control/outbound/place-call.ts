/**
 * Outbound calls: `POST /calls` places a call through Exotel's Calls/connect API and prepares the
 * plan its stream will run with. Order matters: the plan is stored under a fresh token *before*
 * Exotel is asked (the customer may answer and the stream arrive before Exotel's reply does), the
 * token rides in CustomField (and in the StreamUrl in direct mode), and once Exotel answers, the
 * plan is stored under the call SID too. The plan hook finds it by either.
 *
 * Request:  {"to":"+9198...", "agent_id"?, "dynamic_variables"?: {...}, "overrides"?: {first_message,
 *            language, voice_id}, "custom_field"?: "...", "time_limit_s"?: 1-14400, "record"?: bool}
 * Exotel is also handed a StatusCallback (/exotel/status, see ./status.ts) when the bridge has a
 * public URL, so every placed call ends with a recorded outcome.
 * Answer:   201 {"call_sid","status","mode","agent_id","route"}  400 bad request / missing variables
 *           502 Exotel refused or unreachable   503 state store unavailable
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { PHONE } from "../../config/validators.js";
import type { Config } from "../../config.js";
import type { DynamicVariables } from "../../elevenlabs/messages.js";
import type { Logger } from "../../log.js";
import {
  CALL_TOKEN_PARAM,
  CUSTOM_FIELD_TOKEN,
  mergeOverrides,
  missingVariables,
  planFromRoute,
} from "../routing/plans.js";
import { agentIdSchema, dynamicVariablesSchema, overridesSchema } from "../routing/schemas.js";
import type { RoutingTable } from "../routing/table.js";
import type { CallRecords, PreparedPlan } from "../state/call-records.js";
import { streamUrl } from "../stream-url.js";
import { type ConnectTarget, connectCall, ExotelApiError, MAX_CUSTOM_FIELD } from "./exotel-api.js";
import type { OutboundMetrics } from "./status.js";

const TOKEN_CHARS = 22; // 16 random bytes, base64url
const MAX_USER_CUSTOM_FIELD = MAX_CUSTOM_FIELD - CUSTOM_FIELD_TOKEN.length - TOKEN_CHARS - 1;

export const outboundRequestSchema = z
  .object({
    to: z
      .string()
      .transform((s) => s.replace(/[\s-]/g, ""))
      .pipe(z.string().regex(PHONE, { message: "must be a phone number (+ and 6-15 digits)" })),
    agent_id: agentIdSchema.optional(),
    dynamic_variables: dynamicVariablesSchema.optional(),
    overrides: overridesSchema.optional(),
    time_limit_s: z.number().int().min(1).max(14_400).optional(),
    record: z.boolean().optional(),
    custom_field: z
      .string()
      .max(MAX_USER_CUSTOM_FIELD, { message: `at most ${MAX_USER_CUSTOM_FIELD} characters` })
      .optional(),
  })
  .strict();

export type OutboundRequest = z.infer<typeof outboundRequestSchema>;

export interface OutboundResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface OutboundDeps {
  readonly config: Config;
  readonly records: CallRecords;
  readonly routing: RoutingTable;
  readonly log: Logger;
  readonly metrics?: OutboundMetrics;
}

export async function placeOutboundCall(deps: OutboundDeps, raw: unknown): Promise<OutboundResult> {
  const { config, records, routing, log } = deps;
  const ob = config.control.outbound;
  if (ob === undefined) return { status: 404, body: { error: "not_found" } };
  const parsed = outboundRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    return { status: 400, body: { error: "bad_request", problems } };
  }
  const req = parsed.data;

  // The ExoPhone is the "called number" of the routing table for calls we place.
  const route = routing.match({ to: ob.callerId, params: {}, now: new Date() });
  const base: PreparedPlan | undefined = route
    ? planFromRoute(route, config.agent.overrides, "outbound")
    : undefined;
  const requestOverrides =
    req.overrides === undefined
      ? undefined
      : {
          ...(req.overrides.first_message !== undefined && { firstMessage: req.overrides.first_message }),
          ...(req.overrides.language !== undefined && { language: req.overrides.language }),
          ...(req.overrides.voice_id !== undefined && { voiceId: req.overrides.voice_id }),
        };
  const overrides = mergeOverrides(config.agent.overrides, base?.overrides, requestOverrides);
  const dynamicVariables: DynamicVariables = {
    ...(base?.dynamicVariables ?? {}),
    ...(req.dynamic_variables ?? {}),
    ...(req.custom_field !== undefined && { custom_field: req.custom_field }),
  };
  const required = base?.requiredVariables ?? [];
  const missing = missingVariables(required, dynamicVariables);
  if (missing.length > 0) {
    return {
      status: 400,
      body: {
        error: "missing_variables",
        problems: [`the agent requires dynamic variables not supplied: ${missing.join(", ")}`],
        missing,
      },
    };
  }
  const agentId = req.agent_id ?? base?.agentId ?? config.agent.defaultAgentId;
  const plan: PreparedPlan = {
    source: "outbound",
    ...(route && { route: route.name }),
    agentId,
    ...(Object.keys(dynamicVariables).length > 0 && { dynamicVariables }),
    ...(overrides !== undefined && { overrides }),
    ...(required.length > 0 && { requiredVariables: required }),
    ...(base?.record !== undefined && { record: base.record }),
  };

  const token = randomBytes(16).toString("base64url");
  try {
    await records.putPlan(token, plan);
  } catch (err) {
    log.error(
      { event: "outbound_state_failed", err: { message: (err as Error).message } },
      "state store unavailable: outbound call not placed",
    );
    return { status: 503, body: { error: "state_unavailable" } };
  }

  const target: ConnectTarget =
    ob.appId !== undefined
      ? { mode: "flow", appId: ob.appId }
      : {
          mode: "stream",
          streamUrl: streamUrl(
            config.control.publicBaseUrl as string,
            config.exotel.basicAuth,
            route?.sampleRate ?? config.control.streamSampleRate,
            { [CALL_TOKEN_PARAM]: token },
          ),
        };
  const customField = `${CUSTOM_FIELD_TOKEN}${token}${req.custom_field !== undefined ? `|${req.custom_field}` : ""}`;
  try {
    const reply = await connectCall(
      { baseUrl: ob.apiBaseUrl, accountSid: ob.accountSid, apiKey: ob.apiKey, apiToken: ob.apiToken },
      {
        from: req.to,
        callerId: ob.callerId,
        target,
        customField,
        timeLimitS: req.time_limit_s ?? ob.timeLimitS,
        record: req.record ?? ob.record,
        recordingChannels: ob.recordingChannels,
        ...(ob.statusCallbackUrl !== undefined && { statusCallback: ob.statusCallbackUrl }),
      },
    );
    deps.metrics?.count("placed");
    await records
      .putOutbound(reply.sid, { to: req.to, placedAt: new Date().toISOString(), mode: target.mode })
      .catch((err: unknown) =>
        log.warn(
          {
            event: "state_write_failed",
            what: "outbound_record",
            call_sid: reply.sid,
            err: { message: (err as Error).message },
          },
          "could not store the outbound call's record (its status will be logged all the same)",
        ),
      );
    await records.putPlanBySid(reply.sid, { ...plan, callSid: reply.sid }).catch((err: unknown) =>
      log.warn(
        {
          event: "state_write_failed",
          what: "plan_by_sid",
          call_sid: reply.sid,
          err: { message: (err as Error).message },
        },
        "could not store the outbound plan by call SID (the token still links it)",
      ),
    );
    log.info(
      {
        event: "outbound_call_placed",
        call_sid: reply.sid,
        exotel_status: reply.status,
        mode: target.mode,
        agent_id: agentId,
        route: route?.name,
        to: req.to,
        variables: Object.keys(dynamicVariables),
      },
      "outbound call placed through Exotel",
    );
    return {
      status: 201,
      body: {
        call_sid: reply.sid,
        status: reply.status,
        mode: target.mode,
        agent_id: agentId,
        ...(route && { route: route.name }),
      },
    };
  } catch (err) {
    await records.deletePlan(token).catch(() => {});
    const e = err instanceof ExotelApiError ? err : new ExotelApiError((err as Error).message);
    deps.metrics?.count("refused");
    log.warn(
      { event: "outbound_call_failed", exotel_status: e.status, detail: e.message, to: req.to },
      "Exotel did not place the outbound call",
    );
    return {
      status: 502,
      body: {
        error: "exotel_error",
        message: e.message,
        ...(e.status !== undefined && { exotel_status: e.status }),
      },
    };
  }
}
