/**
 * The post-call webhook over real HTTP on the real bridge: correct, tampered, stale and oversized
 * deliveries, the call_analysis record they produce (or not), the refusal log and the counter, and
 * the conversation_id -> call_sid join for a call that really ran through this bridge.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import { ADMIN_HEADERS, startBridge, startRig, type TestBridge } from "../support/bridge.js";
import { deliver, SECRET, transcriptionBody } from "./fixtures.js";

const WEBHOOK_ENV = { ELEVENLABS_WEBHOOK_SECRET: SECRET, POST_CALL_WEBHOOK_MAX_BYTES: "65536" };
const ENV = { ELEVENLABS_AGENT_ID: "agent_test", ...WEBHOOK_ENV };

async function counter(b: TestBridge, result: string): Promise<number> {
  const text = await (await fetch(`${b.http}/metrics`, { headers: ADMIN_HEADERS })).text();
  const m = new RegExp(`exotel_bridge_post_call_webhooks_total\\{result="${result}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

describe("post-call webhook", () => {
  let b: TestBridge;
  before(async () => {
    b = await startBridge(ENV);
  });
  after(async () => {
    await b.close();
  });

  it("logs one call_analysis for a correctly signed transcription, joined by the call_sid it carries", async () => {
    const res = await deliver(b.http, transcriptionBody("conv_ok", { callSid: "CA_from_vars" }));
    assert.deepEqual(res, { status: 200, text: "ok" });
    const [record] = b.logs.events("call_analysis");
    assert.ok(record, "a call_analysis record");
    assert.equal(record.conversation_id, "conv_ok");
    assert.equal(record.call_sid, "CA_from_vars");
    assert.equal(record.call_sid_source, "dynamic_variables");
    assert.equal(record.call_successful, "success");
    assert.equal(record.cost, 310);
    assert.equal(record.call_duration_s, 42);
    assert.equal(record.evaluation_criteria_failed, 1);
    assert.deepEqual(record.data_collection, { order_id: "A-1042", callback: false });
    assert.deepEqual(
      (record.evaluation_criteria as Record<string, { result: string }>).order_found?.result,
      "success",
    );
    assert.deepEqual(record["logging.googleapis.com/labels"], {
      conversation_id: "conv_ok",
      call_sid: "CA_from_vars",
    });
    assert.ok(!JSON.stringify(record).includes("Namaste"), "the transcript itself is not copied");
    assert.equal(await counter(b, "accepted"), 1);
  });

  it("answers a repeated delivery 200 without logging it twice", async () => {
    const body = transcriptionBody("conv_dup", { callSid: "CA1" });
    assert.equal((await deliver(b.http, body)).status, 200);
    assert.equal((await deliver(b.http, body)).status, 200);
    assert.equal(b.logs.events("call_analysis").filter((l) => l.conversation_id === "conv_dup").length, 1);
    assert.equal(await counter(b, "duplicate"), 1);
  });

  const refusals: Array<{
    what: string;
    reason: string;
    send: (url: string) => Promise<{ status: number; text: string }>;
  }> = [
    {
      what: "a tampered body",
      reason: "bad_signature",
      send: (url) =>
        deliver(url, transcriptionBody("conv_tampered", { success: "success" }), {
          signedBody: transcriptionBody("conv_tampered", { success: "failure" }),
        }),
    },
    {
      what: "a signature made with another secret",
      reason: "bad_signature",
      send: (url) => deliver(url, transcriptionBody("conv_other_secret"), { secret: "wsec_not_ours" }),
    },
    {
      what: "a stale timestamp (31 minutes old, correctly signed)",
      reason: "stale",
      send: (url) =>
        deliver(url, transcriptionBody("conv_stale"), {
          timestampS: Math.floor(Date.now() / 1000) - 31 * 60,
        }),
    },
    {
      what: "no signature header",
      reason: "missing_signature",
      send: (url) => deliver(url, transcriptionBody("conv_unsigned"), { header: null }),
    },
    {
      what: "a header in another scheme",
      reason: "malformed_signature",
      send: (url) => deliver(url, transcriptionBody("conv_scheme"), { header: "sha256=abc" }),
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.what} with a bare 401, logs nothing of it, counts it as ${r.reason}`, async () => {
      const before = await counter(b, r.reason);
      const res = await r.send(b.http);
      assert.deepEqual(res, { status: 401, text: "Unauthorized" });
      assert.equal(await counter(b, r.reason), before + 1);
      const refused = b.logs.events("post_call_webhook_refused").at(-1);
      assert.equal(refused?.reason, r.reason);
      const refusedIds = ["conv_tampered", "conv_other_secret", "conv_stale", "conv_unsigned", "conv_scheme"];
      assert.ok(
        !b.logs.events("call_analysis").some((l) => refusedIds.includes(String(l.conversation_id))),
        "no record from a refused delivery",
      );
    });
  }

  it("refuses a body over the cap with 413 before reading it all", async () => {
    const big = transcriptionBody("conv_big").replace("Namaste", "x".repeat(100_000));
    const res = await deliver(b.http, big);
    assert.deepEqual(res, { status: 413, text: "Payload Too Large" });
    assert.equal(await counter(b, "too_large"), 1);
  });

  it("answers 400 to a correctly signed body that is not a post-call webhook", async () => {
    const res = await deliver(b.http, '{"hello":"world"}');
    assert.deepEqual(res, { status: 400, text: "Bad Request" });
    assert.equal(await counter(b, "malformed"), 1);
  });

  it("accepts and ignores other webhook types (audio, initiation failure)", async () => {
    const res = await deliver(b.http, transcriptionBody("conv_audio", { type: "post_call_audio" }));
    assert.equal(res.status, 200);
    assert.ok(!b.logs.events("call_analysis").some((l) => l.conversation_id === "conv_audio"));
    assert.equal(await counter(b, "ignored"), 1);
  });

  it("still logs the analysis of a call nobody here knows, by conversation_id alone", async () => {
    assert.equal((await deliver(b.http, transcriptionBody("conv_nobody"))).status, 200);
    const record = b.logs.events("call_analysis").find((l) => l.conversation_id === "conv_nobody");
    assert.ok(record);
    assert.equal(record.call_sid, undefined);
    assert.equal(record.call_sid_source, undefined);
  });
});

describe("post-call webhook without a secret", () => {
  it("is not mounted (404), so nobody can feed records in", async () => {
    const b = await startBridge({ ELEVENLABS_AGENT_ID: "agent_test" });
    try {
      const res = await deliver(b.http, transcriptionBody("conv_x"));
      assert.equal(res.status, 404);
      assert.equal(b.logs.events("call_analysis").length, 0);
    } finally {
      await b.close();
    }
  });
});

describe("join with a call that ran on this bridge", () => {
  it("ties the analysis to the call's call_sid through the conversation_id the agent gave it", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" }, WEBHOOK_ENV);
    try {
      const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 });
      sock.sendConnected();
      sock.sendStart();
      const conv = await rig.agent.nextConversation(5000);
      await rig.bridge.logs.waitFor(
        (l) => l.some((x) => x.event === "agent_connected"),
        5000,
        "agent_connected",
      );
      sock.sendStop();
      sock.close();
      const summary = await rig.bridge.logs.summary(10_000);
      assert.equal(summary.conversation_id, conv.id);
      assert.equal(summary.call_sid, sock.callSid);
      // ElevenLabs' copy of the dynamic variables is not relied on here: the body carries none.
      const res = await deliver(rig.bridge.http, transcriptionBody(conv.id));
      assert.equal(res.status, 200);
      const record = rig.bridge.logs.events("call_analysis")[0];
      assert.equal(record?.call_sid, sock.callSid);
      assert.equal(record?.call_sid_source, "this_instance");
    } finally {
      await rig.close();
    }
  });
});
