/**
 * The dynamic variables sent to the agent in its initiation message: the stream's custom parameters
 * (minus the ones that steer the bridge), the plan's variables over them, and the call's own facts
 * over both. Pure, so what an agent prompt can rely on is tested without sockets.
 */
import type { DynamicVariables } from "../elevenlabs/messages.js";
import type { CallIdentity, CallPlan } from "./hooks.js";

/**
 * Names that select bridge behaviour and must not become dynamic variables (`call_token` links a
 * stream to a plan prepared by POST /calls or the dynamic-URL endpoint).
 */
const RESERVED_PARAMETERS: ReadonlySet<string> = new Set([
  "agent_id",
  "sample-rate",
  "sample_rate",
  "call_token",
]);

export function dynamicVariables(identity: CallIdentity, plan: CallPlan): DynamicVariables {
  const vars: DynamicVariables = {};
  for (const [k, v] of Object.entries(identity.customParameters)) {
    if (!RESERVED_PARAMETERS.has(k) && !k.startsWith("system__")) vars[k] = v;
  }
  if (plan.dynamicVariables) Object.assign(vars, plan.dynamicVariables);
  // The call's own facts win over same-named custom parameters. Always present (empty when
  // unknown) so an agent prompt using them never fails with missing_dynamic_variable.
  vars.caller_number = identity.from;
  vars.called_number = identity.to;
  vars.call_sid = identity.callSid;
  vars.stream_sid = identity.streamSid;
  return vars;
}

/** The variables the plan requires that are absent or empty. */
export function missingVariables(vars: DynamicVariables, plan: CallPlan): string[] {
  return (plan.requiredVariables ?? []).filter((name) => vars[name] === undefined || vars[name] === "");
}
