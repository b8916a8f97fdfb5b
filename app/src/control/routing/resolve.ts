/**
 * The one place that decides which plan a call runs with, for both places that ask: the plan hook
 * when the stream starts (../hooks.ts) and the dynamic-URL answer before it (./routes.ts).
 * Order: a plan prepared for this call (by its `call_token`, else by its call SID), else the first
 * routing-table route that fits the called number, custom parameters and local time, else none.
 * A store that fails or is slow never blocks a call: the routing table still applies.
 *
 * A prepared plan holds what a caller must not see of another call (names, balances in its
 * variables), so it is only handed over on proof: a token is taken as it is used (a replay finds
 * nothing), and a call SID, which anyone can write into a request, is looked up only when the party
 * that supplied it has authenticated.
 */
import type { ConversationOverrides } from "../../elevenlabs/messages.js";
import type { Logger } from "../../log.js";
import type { CallRecords, PreparedPlan } from "../state/call-records.js";
import { planFromRoute } from "./plans.js";
import type { Route, RoutingTable } from "./table.js";

export interface PlanQuery {
  /** The `call_token` the bridge put in a stream URL or CustomField, if the call carries one. */
  readonly token?: string | undefined;
  readonly callSid?: string | undefined;
  /** The party that supplied `callSid` proved a credential; otherwise the SID is never looked up. */
  readonly callSidAuthenticated: boolean;
  /** The called number (ExoPhone). */
  readonly to: string;
  /** Custom parameters (stream) or non-Exotel query parameters (dynamic URL). */
  readonly params: Readonly<Record<string, string>>;
  readonly now: Date;
}

export type ResolvedPlan =
  | { readonly by: "token" | "call_sid"; readonly prepared: PreparedPlan }
  | { readonly by: "route"; readonly prepared: PreparedPlan; readonly route: Route }
  | { readonly by: "none" };

export interface ResolveDeps {
  readonly records: CallRecords;
  readonly routing: RoutingTable;
  readonly overrides: ConversationOverrides;
  readonly log: Logger;
}

export async function resolvePlan(
  deps: ResolveDeps,
  query: PlanQuery,
  routeSource: PreparedPlan["source"],
): Promise<ResolvedPlan> {
  const { records, routing, log } = deps;
  try {
    if (query.token !== undefined && query.token !== "") {
      const prepared = await records.takePlan(query.token);
      if (prepared !== undefined) return { by: "token", prepared };
    }
    if (query.callSidAuthenticated && query.callSid !== undefined && query.callSid !== "") {
      const prepared = await records.getPlanBySid(query.callSid);
      if (prepared !== undefined) return { by: "call_sid", prepared };
    }
  } catch (err) {
    log.warn(
      { event: "plan_lookup_failed", call_sid: query.callSid, err: { message: (err as Error).message } },
      "state store lookup failed; routing from the table",
    );
  }
  const route = routing.match({ to: query.to, params: query.params, now: query.now });
  if (route === undefined) return { by: "none" };
  return { by: "route", route, prepared: planFromRoute(route, deps.overrides, routeSource) };
}
