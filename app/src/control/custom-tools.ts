/**
 * Your own client tools: functions the agent can call mid-call, answered with the string you
 * return (see docs/call-control.md, "Client tools"). Register them here; every bridge built by
 * main.ts picks them up. The transfer tool is registered separately (TRANSFER_TOOL_NAME).
 *
 *   tools.register("lookup_order", async (params, ctx) => {
 *     const id = String(params.order_id ?? "");
 *     const res = await fetch(`https://crm.example.com/orders/${encodeURIComponent(id)}`, {
 *       signal: AbortSignal.timeout(3000),
 *     });
 *     if (!res.ok) throw new Error(`order ${id} not found`); // -> is_error result, the agent says sorry
 *     const order = (await res.json()) as { status: string; eta: string };
 *     ctx.log.info({ event: "order_lookup", order_id: id }, "looked up an order");
 *     return `Order ${id} is ${order.status}, arriving ${order.eta}.`;
 *   });
 *
 * A handler gets the tool's `parameters` and a context (`callSid`, `streamSid`, `info` with the
 * caller's number and custom parameters, a per-call `log`, and `call.endWhenAgentDone(...)`). It
 * must resolve within CLIENT_TOOL_TIMEOUT_MS (default 5 s) or the agent gets an error result.
 */
import type { ClientToolRegistry } from "../call/tools.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";

export function registerCustomTools(
  _tools: ClientToolRegistry,
  _context: { config: Config; log: Logger },
): void {
  // None by default.
}
