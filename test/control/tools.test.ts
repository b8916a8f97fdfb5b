/**
 * The client-tools hook, through a real call: tools registered on a ClientToolRegistry answer the
 * agent's `client_tool_call` with `client_tool_result`; a throwing handler and one that overruns
 * the timeout give error results; an unknown tool gives an error result; none of them disturbs the
 * call. The registration is the example from docs/call-control.md.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ClientToolRegistry } from "../../app/src/call/tools.js";
import type { LocalAgent } from "../../scripts/lib/local-agent.js";
import {
  agentEnv,
  dialStream,
  metadataSent,
  sleep,
  startAgent,
  startBridge,
  type TestBridge,
} from "./harness.js";

interface ToolResult {
  tool_call_id: string;
  result: string;
  is_error: boolean;
}

describe("client tools hook", () => {
  let agent: LocalAgent;
  let b: TestBridge;
  const seen: Array<{ callSid: string; caller: string; lang: string | undefined }> = [];

  before(async () => {
    agent = await startAgent();
    // As in docs/call-control.md: name -> async handler returning the string the agent reads.
    const tools = new ClientToolRegistry(300);
    tools.register("lookup_order", async (params, ctx) => {
      seen.push({ callSid: ctx.callSid, caller: ctx.info.from, lang: ctx.info.customParameters.lang });
      const id = String(params.order_id ?? "");
      if (id === "") throw new Error("order_id is required");
      return `Order ${id} was shipped yesterday and arrives on Friday.`;
    });
    tools.register("crm_down", async () => {
      throw new Error("CRM unreachable");
    });
    tools.register("slow", () => sleep(2000).then(() => "too late"));
    b = await startBridge(agentEnv(agent), { tools });
  });
  after(async () => {
    await b.close();
    await agent.close();
  });

  it("answers, reports failures and timeouts as error results, and the call goes on", async () => {
    const { sock } = await dialStream({
      url: b.wsUrl,
      callSid: "CAtools001",
      from: "+919812345678",
      customParameters: { lang: "hi" },
    });
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    const call = (id: string, name: string, parameters: Record<string, unknown> = {}) =>
      conv.sendJson({
        type: "client_tool_call",
        client_tool_call: { tool_name: name, tool_call_id: id, parameters, event_id: 5 },
      });
    const started = Date.now();
    call("c1", "lookup_order", { order_id: "4567" });
    call("c2", "lookup_order", {});
    call("c3", "crm_down");
    call("c4", "slow");
    call("c5", "no_such_tool");
    await conv.waitFor((c) => c.toolResults.length === 5, 3000, "five tool results");
    const byId = new Map((conv.toolResults as unknown as ToolResult[]).map((r) => [r.tool_call_id, r]));

    assert.deepEqual(byId.get("c1"), {
      type: "client_tool_result",
      tool_call_id: "c1",
      result: "Order 4567 was shipped yesterday and arrives on Friday.",
      is_error: false,
    });
    assert.deepEqual(seen[0], { callSid: "CAtools001", caller: "+919812345678", lang: "hi" });
    assert.equal(byId.get("c2")?.is_error, true);
    assert.match(byId.get("c2")?.result ?? "", /order_id is required/);
    assert.equal(byId.get("c3")?.is_error, true);
    assert.equal(byId.get("c3")?.result, 'Tool "crm_down" failed: CRM unreachable');
    assert.equal(byId.get("c4")?.is_error, true);
    assert.equal(byId.get("c4")?.result, 'Tool "slow" timed out after 300 ms.');
    assert.ok(Date.now() - started < 1500, "the timeout, not the 2 s handler, decided");
    assert.equal(byId.get("c5")?.is_error, true);
    assert.match(byId.get("c5")?.result ?? "", /not available/);
    // The transfer tool is registered on the same registry by call control.
    assert.ok(b.control.tools.has("transfer_to_human"));

    await sleep(200);
    assert.ok(sock.isOpen, "tool failures do not end the call");
    sock.sendStop();
    sock.close();
    const summary = await b.logs.waitFor("call_summary", 5000, (l) => l.call_sid === "CAtools001");
    assert.deepEqual(summary.tool_calls, [
      "lookup_order",
      "lookup_order",
      "crm_down",
      "slow",
      "no_such_tool",
    ]);
    assert.equal(b.logs.events("client_tool_error").length, 4);
  });
});
