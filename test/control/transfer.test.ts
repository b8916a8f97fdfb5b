/**
 * Transfer to a human and the after-stream applets, end to end over real sockets and HTTP: a
 * simulated Exotel stream, the real bridge with call control, the local test agent driving the
 * conversation, then Exotel's Passthru and Programmable Connect requests.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ReceivedFrame } from "../../scripts/lib/exotel-caller.js";
import type { LocalAgent } from "../../scripts/lib/local-agent.js";
import {
  agentEnv,
  dialStream,
  metadataSent,
  request,
  sleep,
  startAgent,
  startBridge,
  type TestBridge,
  tone,
} from "./harness.js";

const NUMBERS = "default=+918000000001,sales=+918000000002|+918000000003,support=08000000004";

function mediaBytes(frames: readonly ReceivedFrame[]): number {
  let n = 0;
  for (const f of frames) {
    if (f.event !== "media") continue;
    const payload = (f.json as { media: { payload: string } }).media.payload;
    n += Buffer.from(payload, "base64").length;
  }
  return n;
}

/** The credential Exotel's applets carry in these tests' URLs. */
const HOOK = "xfer-hook-token-0123456789";

describe("transfer to a human", () => {
  let agent: LocalAgent;
  let b: TestBridge;

  before(async () => {
    agent = await startAgent();
    b = await startBridge({
      ...agentEnv(agent),
      TRANSFER_NUMBERS: NUMBERS,
      TRANSFER_MAX_RINGING_S: "30",
      EXOTEL_WEBHOOK_TOKEN: HOOK,
    });
  });
  after(async () => {
    await b.close();
    await agent.close();
  });

  it("answers the tool, lets the agent finish, closes the stream, and routes Passthru 200 + Connect to the team", async () => {
    const { sock } = await dialStream({ url: b.wsUrl, callSid: "CAxfer0001" });
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    // The agent says a sentence (600 ms), then asks for the transfer while that audio still plays.
    conv.sendAudio(tone(440, 600, 8000), 1);
    conv.sendJson({
      type: "client_tool_call",
      client_tool_call: {
        tool_name: "transfer_to_human",
        tool_call_id: "t1",
        parameters: { team: "Sales", reason: "wants a quote" },
        event_id: 2,
      },
    });
    await conv.waitFor((c) => c.toolResults.length === 1, 3000, "tool result");
    const result = conv.toolResults[0] as { tool_call_id: string; result: string; is_error: boolean };
    assert.equal(result.tool_call_id, "t1");
    assert.equal(result.is_error, false);
    assert.match(result.result, /sales team/);
    assert.ok(sock.isOpen, "the stream stays open while the agent finishes");

    const closed = await sock.closed;
    assert.equal(closed.by, "bridge");
    // All 600 ms of agent audio reached Exotel before the close (padded to whole frames).
    assert.ok(mediaBytes(sock.received) >= 9600, `agent audio delivered: ${mediaBytes(sock.received)} bytes`);
    const firstMedia = sock.received.find((f) => f.event === "media") as ReceivedFrame;
    // The agent's last audio arrived with the first frame; done = played out and ~1.2 s quiet.
    const gap = closed.atMs - firstMedia.atMs;
    assert.ok(
      gap >= 1100 && gap < 3000,
      `closed ${Math.round(gap)} ms after the audio began: played out, then a quiet pause`,
    );

    const summary = await b.logs.waitFor("call_ending");
    assert.equal(summary.end_reason, "agent_transfer");

    const pass = await request(
      `${b.httpUrl}/exotel/passthru?token=${HOOK}&CallSid=CAxfer0001&CallFrom=09876543210&CallTo=08047491899&Direction=incoming&Stream%5BStatus%5D=completed&Stream%5BDisconnectedBy%5D=bot`,
    );
    assert.equal(pass.status, 200);
    assert.equal(pass.text, "transfer");
    const logged = await b.logs.waitFor("exotel_passthru");
    assert.equal(logged.stream_status, "completed");
    assert.equal(logged.disconnected_by, "bot");

    const conn = await request(
      `${b.httpUrl}/exotel/connect?token=${HOOK}&CallSid=CAxfer0001&CallFrom=09876543210&CallTo=08047491899&Direction=incoming&Extra=1`,
    );
    assert.equal(conn.status, 200);
    assert.deepEqual(conn.json, {
      fetch_after_attempt: false,
      destination: { numbers: ["+918000000002", "+918000000003"] },
      record: true,
      recording_channels: "dual",
      max_ringing_duration: 30,
    });
    const s = await b.logs.waitFor("call_summary", 5000, (l) => l.end_reason === "agent_transfer");
    assert.deepEqual(s.tool_calls, ["transfer_to_human"]);
  });

  it("refuses an unknown team with an error result the agent can act on, and the call goes on", async () => {
    const { sock } = await dialStream({ url: b.wsUrl, callSid: "CAxfer0002" });
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    conv.sendJson({
      type: "client_tool_call",
      client_tool_call: { tool_name: "transfer_to_human", tool_call_id: "t2", parameters: { team: "legal" } },
    });
    await conv.waitFor((c) => c.toolResults.length === 1, 3000, "tool result");
    const result = conv.toolResults[0] as { result: string; is_error: boolean };
    assert.equal(result.is_error, true);
    assert.match(result.result, /no team called "legal"/);
    assert.match(result.result, /sales, support/);
    // A number not in the configuration is refused too (no dialling arbitrary numbers).
    conv.sendJson({
      type: "client_tool_call",
      client_tool_call: {
        tool_name: "transfer_to_human",
        tool_call_id: "t3",
        parameters: { number: "+19005550100" },
      },
    });
    await conv.waitFor((c) => c.toolResults.length === 2, 3000, "second tool result");
    assert.equal((conv.toolResults[1] as { is_error: boolean }).is_error, true);
    await sleep(300);
    assert.ok(sock.isOpen, "no transfer happened");
    // Exotel's number forms compare equal: 08000000004 is support's number.
    conv.sendJson({
      type: "client_tool_call",
      client_tool_call: {
        tool_name: "transfer_to_human",
        tool_call_id: "t4",
        parameters: { number: "+91 80000 00004" },
      },
    });
    await conv.waitFor((c) => c.toolResults.length === 3, 3000, "third tool result");
    assert.equal((conv.toolResults[2] as { is_error: boolean }).is_error, false);
    await sock.closed;
    const conn = await request(`${b.httpUrl}/exotel/connect?token=${HOOK}&CallSid=CAxfer0002`);
    assert.deepEqual((conn.json as { destination: unknown }).destination, { numbers: ["08000000004"] });
  });

  it("end_call: the goodbye plays in full, then Passthru answers 302 (finished)", async () => {
    const { sock } = await dialStream({ url: b.wsUrl, callSid: "CAend00001" });
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    conv.sendJson({
      type: "agent_tool_response",
      agent_tool_response: {
        tool_name: "end_call",
        tool_call_id: "e1",
        tool_type: "system",
        is_error: false,
        is_called: true,
        event_id: 3,
      },
    });
    conv.sendAudio(tone(660, 800, 8000), 3);
    await sleep(50);
    conv.close(1000);
    const closed = await sock.closed;
    assert.equal(closed.by, "bridge");
    assert.ok(mediaBytes(sock.received) >= 12_800, "the whole 800 ms goodbye was sent");
    // Passthru may come before the bridge has written the outcome: it waits for it.
    const pass = await request(
      `${b.httpUrl}/exotel/passthru?token=${HOOK}&CallSid=CAend00001&Stream%5BStatus%5D=completed`,
    );
    assert.equal(pass.status, 302);
    assert.equal(pass.text, "finished");
    const outcome = await b.control.records.getOutcome("CAend00001");
    assert.equal(outcome?.endReason, "agent_end_call");
  });

  it("Passthru waits for a call that is still finishing, and answers at once for unknown calls", async () => {
    await b.control.records.markActive("CAslow0001", 60_000);
    setTimeout(() => {
      void b.control.records.putTransfer("CAslow0001", {
        numbers: ["+918000000001"],
        at: new Date().toISOString(),
      });
    }, 400);
    const t0 = Date.now();
    const pass = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}&CallSid=CAslow0001`);
    assert.equal(pass.status, 200);
    assert.ok(Date.now() - t0 >= 350, "waited for the decision");

    const t1 = Date.now();
    const unknown = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}&CallSid=CAnever0001`);
    assert.equal(unknown.status, 302);
    assert.ok(Date.now() - t1 < 300, "no wait for a call no bridge knows");
  });

  it("Connect without a decision rings the default destination", async () => {
    const conn = await request(
      `${b.httpUrl}/exotel/connect?token=${HOOK}&CallSid=CAnodecision&CallFrom=x&CallTo=y`,
    );
    assert.equal(conn.status, 200);
    assert.deepEqual((conn.json as { destination: unknown }).destination, { numbers: ["+918000000001"] });
    // POST with a form body works the same.
    const post = await request(`${b.httpUrl}/exotel/connect?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "CallSid=CAnodecision&CallTo=y",
    });
    assert.equal(post.status, 200);
  });
});

describe("transfer options", () => {
  let agent: LocalAgent;
  let b: TestBridge;
  const TOKEN = "hook-token-0123456789";

  before(async () => {
    agent = await startAgent();
    b = await startBridge({
      ...agentEnv(agent),
      TRANSFER_ON_FAILURE: "true",
      EXOTEL_WEBHOOK_TOKEN: TOKEN,
      TRANSFER_RECORD: "false",
    });
  });
  after(async () => {
    await b.close();
    await agent.close();
  });

  it("requires the webhook token on /exotel/* when configured, and never logs it", async () => {
    assert.equal((await request(`${b.httpUrl}/exotel/passthru?CallSid=CA1`)).status, 401);
    assert.equal(
      (await request(`${b.httpUrl}/exotel/passthru?CallSid=CA1&token=wrong-token-0000000`)).status,
      401,
    );
    assert.equal((await request(`${b.httpUrl}/exotel/passthru?CallSid=CA1&token=${TOKEN}`)).status, 302);
    assert.ok(!b.logs.raw.includes(TOKEN));
  });

  it("with no destination configured Connect answers an empty list; TRANSFER_ON_FAILURE sends a failed agent's call to Connect", async () => {
    const conn = await request(`${b.httpUrl}/exotel/connect?CallSid=CAfail0001&token=${TOKEN}`);
    assert.equal(conn.status, 200);
    assert.deepEqual((conn.json as { destination: unknown }).destination, { numbers: [] });

    const { sock } = await dialStream({ url: b.wsUrl, callSid: "CAfail0001" });
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    conv.close(1011, "server error");
    await sock.closed;
    const pass = await request(`${b.httpUrl}/exotel/passthru?CallSid=CAfail0001&token=${TOKEN}`);
    assert.equal(pass.status, 200);
    assert.equal(pass.text, "fallback");
  });

  it("a transfer with no numbers configured still closes the stream (the flow's own Connect decides)", async () => {
    const { sock } = await dialStream({ url: b.wsUrl, callSid: "CAxfer0003" });
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    conv.sendJson({
      type: "client_tool_call",
      client_tool_call: { tool_name: "transfer_to_human", tool_call_id: "t9", parameters: {} },
    });
    await conv.waitFor((c) => c.toolResults.length === 1, 3000, "tool result");
    assert.equal((conv.toolResults[0] as { is_error: boolean }).is_error, false);
    const closed = await sock.closed;
    assert.equal(closed.by, "bridge");
    const pass = await request(`${b.httpUrl}/exotel/passthru?CallSid=CAxfer0003&token=${TOKEN}`);
    assert.equal(pass.status, 200);
  });
});
