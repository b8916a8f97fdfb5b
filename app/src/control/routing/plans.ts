/**
 * From what is known about a call (a routing-table route, an outbound request, a dynamic-URL
 * request) to the plan the bridge runs it with. Pure.
 */
import type { CallPlan } from "../../call/hooks.js";
import type { ConversationOverrides, DynamicVariables } from "../../elevenlabs/messages.js";
import type { PreparedPlan } from "../state/call-records.js";
import type { Route } from "./table.js";

/** Custom parameter carrying the per-call token in stream URLs the bridge generates. */
export const CALL_TOKEN_PARAM = "call_token";
/** Prefix of the token inside Exotel's CustomField (`xbt_<token>[|<your custom field>]`). */
export const CUSTOM_FIELD_TOKEN = "xbt_";
/** Variables the bridge always supplies itself (call.ts), so never "missing". */
export const BRIDGE_VARIABLES = new Set(["caller_number", "called_number", "call_sid", "stream_sid"]);

/** Overrides from the route over those from the environment (each field separately). */
export function mergeOverrides(
  base: ConversationOverrides,
  ...layers: Array<ConversationOverrides | undefined>
): ConversationOverrides | undefined {
  const present = layers.filter(
    (l): l is ConversationOverrides => l !== undefined && Object.keys(l).length > 0,
  );
  if (present.length === 0) return undefined;
  return Object.assign({}, base, ...present) as ConversationOverrides;
}

export function planFromRoute(
  route: Route,
  envOverrides: ConversationOverrides,
  source: PreparedPlan["source"],
): PreparedPlan {
  const overrides = mergeOverrides(envOverrides, route.overrides);
  return {
    source,
    route: route.name,
    ...(route.agentId !== undefined && { agentId: route.agentId }),
    ...(route.dynamicVariables !== undefined && { dynamicVariables: route.dynamicVariables }),
    ...(overrides !== undefined && { overrides }),
    ...(route.requiredVariables.length > 0 && { requiredVariables: route.requiredVariables }),
    ...(route.record !== undefined && { record: route.record }),
  };
}

/** What the Call runs: a prepared plan (outbound, dynamic URL) or a route matched at stream time. */
export function toCallPlan(p: PreparedPlan, source: string): CallPlan {
  const labels: Record<string, string> = { source, ...(p.labels ?? {}) };
  if (p.route !== undefined) labels.route = p.route;
  return {
    ...(p.agentId !== undefined && { agentId: p.agentId }),
    ...(p.dynamicVariables !== undefined && { dynamicVariables: p.dynamicVariables }),
    ...(p.overrides !== undefined && { overrides: p.overrides }),
    ...(p.requiredVariables !== undefined && { requiredVariables: p.requiredVariables }),
    labels,
  };
}

/** Required variables not covered by `vars` or by the bridge itself. */
export function missingVariables(required: readonly string[], vars: DynamicVariables | undefined): string[] {
  return required.filter((n) => !BRIDGE_VARIABLES.has(n) && (vars?.[n] === undefined || vars[n] === ""));
}

/** The token inside a CustomField we wrote, if any. */
export function tokenFromCustomField(field: string | undefined): string | undefined {
  if (field === undefined || !field.startsWith(CUSTOM_FIELD_TOKEN)) return undefined;
  const token = field.slice(CUSTOM_FIELD_TOKEN.length).split("|")[0] ?? "";
  return /^[A-Za-z0-9_-]{16,64}$/.test(token) ? token : undefined;
}
