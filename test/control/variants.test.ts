/**
 * Every documented shape of Exotel's requests and replies, over real HTTP against the real bridge:
 * Passthru as a GET query, a form POST and a JSON POST, with `CallSid` in any case and the stream
 * details as `Stream[Status]` or as a `Stream` object; Connect's reply fields.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request, startBridge, type TestBridge } from "./harness.js";

const HOOK = "variants-hook-token-012345";
const AGENT = { ELEVENLABS_AGENT_ID: "agent_variants_0001", ELEVENLABS_BASE_URL: "http://127.0.0.1:9" };
const NUMBERS = "default=+918000000001,sales=+918000000002|+918000000003|+918000000004";

describe("Passthru request shapes", () => {
  let b: TestBridge;

  before(async () => {
    b = await startBridge({ ...AGENT, TRANSFER_NUMBERS: NUMBERS, EXOTEL_WEBHOOK_TOKEN: HOOK });
    for (const sid of ["CAget", "CAform", "CAjson", "CAlower", "CAupper"])
      await b.control.records.putTransfer(sid, { team: "sales", numbers: [], at: new Date().toISOString() });
  });
  after(async () => {
    await b.close();
  });

  const passthruLog = (sid: string) => b.logs.waitFor("exotel_passthru", 3000, (l) => l.call_sid === sid);

  it("GET with the details in the query, Stream[...] as bracketed names", async () => {
    const r = await request(
      `${b.httpUrl}/exotel/passthru?token=${HOOK}&CallSid=CAget&Stream%5BStatus%5D=completed&Stream%5BDisconnectedBy%5D=bot`,
    );
    assert.equal(r.status, 200);
    assert.equal(r.text, "transfer");
    const l = await passthruLog("CAget");
    assert.equal(l.stream_status, "completed");
    assert.equal(l.disconnected_by, "bot");
  });

  it("POST with a form body", async () => {
    const r = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "CallSid=CAform&Stream%5BStatus%5D=completed&Stream%5BDisconnectedBy%5D=user",
    });
    assert.equal(r.status, 200);
    const l = await passthruLog("CAform");
    assert.equal(l.disconnected_by, "user");
  });

  it("POST with a JSON body, Stream as an object, numbers as JSON numbers", async () => {
    const r = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        CallSid: "CAjson",
        DialCallDuration: 0,
        Stream: { Status: "completed", DisconnectedBy: "bot", Duration: 42 },
      }),
    });
    assert.equal(r.status, 200);
    assert.equal(r.text, "transfer");
    const l = await passthruLog("CAjson");
    assert.equal(l.stream_status, "completed");
    assert.equal((l.params as Record<string, string>)["Stream[Duration]"], "42");
  });

  it("callsid / CALLSID and stream[status] in any case", async () => {
    const lower = await request(
      `${b.httpUrl}/exotel/passthru?token=${HOOK}&callsid=CAlower&stream%5Bstatus%5D=completed`,
    );
    assert.equal(lower.status, 200);
    assert.equal((await passthruLog("CAlower")).stream_status, "completed");
    const upper = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ CALLSID: "CAupper", stream: { status: "completed" } }),
    });
    assert.equal(upper.status, 200);
  });

  it("an unknown call is finished (302) in every shape; malformed JSON is a 400, not a crash", async () => {
    const json = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ callSid: "CAnobody" }),
    });
    assert.equal(json.status, 302);
    const bad = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(bad.status, 400);
    assert.equal((await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}&CallSid=CAx`)).status, 302);
  });

  it("a JSON body without the credential is refused before it is read", async () => {
    const r = await request(`${b.httpUrl}/exotel/passthru`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ CallSid: "CAjson", token: HOOK }),
    });
    assert.equal(r.status, 401);
  });

  it("a JSON body past 64 parameters or 32 kB is bounded", async () => {
    const many: Record<string, string> = { CallSid: "CAget" };
    for (let i = 0; i < 500; i++) many[`p${i}`] = "x";
    const r = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(many),
    });
    assert.equal(r.status, 200);
    const big = await request(`${b.httpUrl}/exotel/passthru?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ CallSid: "CAget", pad: "x".repeat(40_000) }),
    });
    assert.equal(big.status, 413);
  });

  it("Connect reads the same shapes: a JSON POST with callsid finds the decision", async () => {
    await b.control.records.putTransfer("CAconnjson", {
      team: "sales",
      numbers: ["+918000000002"],
      at: new Date().toISOString(),
    });
    const r = await request(`${b.httpUrl}/exotel/connect?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ callsid: "CAconnjson" }),
    });
    assert.deepEqual((r.json as { destination: unknown }).destination, { numbers: ["+918000000002"] });
  });
});

describe("Connect reply fields", () => {
  let b: TestBridge;

  before(async () => {
    b = await startBridge({
      ...AGENT,
      TRANSFER_NUMBERS: NUMBERS,
      EXOTEL_WEBHOOK_TOKEN: HOOK,
      TRANSFER_RECORDING_CHANNELS: "single",
      TRANSFER_MAX_CONVERSATION_S: "1800",
      TRANSFER_PARALLEL_RINGING: "true",
      TRANSFER_ANNOUNCEMENT: "Transferring you to a colleague now.",
      TRANSFER_MAX_RINGING_S: "20",
    });
  });
  after(async () => {
    await b.close();
  });

  it("answers every configured field, parallel ringing for a team of three", async () => {
    await b.control.records.putTransfer("CAfields", {
      team: "sales",
      numbers: ["+918000000002", "+918000000003", "+918000000004"],
      at: new Date().toISOString(),
    });
    const r = await request(`${b.httpUrl}/exotel/connect?token=${HOOK}&CallSid=CAfields`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(r.json, {
      fetch_after_attempt: false,
      destination: { numbers: ["+918000000002", "+918000000003", "+918000000004"] },
      record: true,
      recording_channels: "single",
      max_ringing_duration: 20,
      max_conversation_duration: 1800,
      parallel_ringing: { activate: true, max_parallel_attempts: 3 },
      start_call_playback: {
        playback_to: "both",
        type: "text",
        value: "Transferring you to a colleague now.",
      },
    });
  });

  it("one number: no parallel ringing", async () => {
    const r = await request(`${b.httpUrl}/exotel/connect?token=${HOOK}&CallSid=CAnodecision`);
    const body = r.json as Record<string, unknown>;
    assert.deepEqual(body.destination, { numbers: ["+918000000001"] });
    assert.equal(body.parallel_ringing, undefined);
  });

  it("refuses a TRANSFER_ANNOUNCEMENT that is not one short line at start-up", async () => {
    await assert.rejects(
      startBridge({ ...AGENT, EXOTEL_WEBHOOK_TOKEN: HOOK, TRANSFER_ANNOUNCEMENT: "a\nb" }),
      /TRANSFER_ANNOUNCEMENT/,
    );
  });
});
