/**
 * Every documented shape of Exotel's requests and replies, over real HTTP against the real bridge:
 * Passthru as a GET query, a form POST and a JSON POST, with `CallSid` in any case and the stream
 * details as `Stream[Status]` or as a `Stream` object; Connect's reply fields; Calls/connect replies
 * in both casings, the fields the bridge sends, and Exotel's StatusCallback for a placed call.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ExotelApi, freePort, request, startBridge, type TestBridge } from "./harness.js";

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

describe("outbound calls: Exotel's reply casings, call options and status callbacks", () => {
  const ADMIN = "variants-admin-token-0123456789";
  const BEARER = "variants-calls-token-0123456789";
  const apiOptions = { accountSid: "ACvar", apiKey: "var-key", apiToken: "var-secret-token" };
  let upper: ExotelApi;
  let lower: ExotelApi;
  let bUpper: TestBridge;
  let bLower: TestBridge;

  async function bridgeFor(api: ExotelApi, extra: Record<string, string> = {}): Promise<TestBridge> {
    const port = await freePort();
    return startBridge(
      {
        ...AGENT,
        ADMIN_TOKEN: ADMIN,
        EXOTEL_WEBHOOK_TOKEN: HOOK,
        CALLS_API_TOKEN: BEARER,
        EXOTEL_ACCOUNT_SID: apiOptions.accountSid,
        EXOTEL_API_KEY: apiOptions.apiKey,
        EXOTEL_API_TOKEN: apiOptions.apiToken,
        EXOTEL_API_BASE_URL: api.url,
        EXOTEL_CALLER_ID: "08047491899",
        EXOTEL_APP_ID: "777",
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        ...extra,
      },
      { port },
    );
  }

  const place = (b: TestBridge, body: Record<string, unknown>) =>
    request(`${b.httpUrl}/calls`, {
      method: "POST",
      headers: { authorization: `Bearer ${BEARER}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  before(async () => {
    upper = await new ExotelApi(apiOptions).listen();
    lower = await new ExotelApi({ ...apiOptions, casing: "lower" }).listen();
    bUpper = await bridgeFor(upper, { OUTBOUND_TIME_LIMIT_S: "900" });
    bLower = await bridgeFor(lower, { OUTBOUND_RECORD: "true", OUTBOUND_RECORDING_CHANNELS: "single" });
  });
  after(async () => {
    await bUpper.close();
    await bLower.close();
    await upper.close();
    await lower.close();
  });

  it("reads call.sid / call.status as well as Call.Sid: a placed call is never reported as failed", async () => {
    const r = await place(bLower, { to: "+919876500001" });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(
      { sid: (r.json as { call_sid: string }).call_sid, status: (r.json as { status: string }).status },
      { sid: "CAapi0001", status: "in-progress" },
    );
    assert.equal(lower.requests.length, 1, "Exotel was asked once");
    const ok = await place(bUpper, { to: "+919876500002" });
    assert.equal(ok.status, 201, ok.text);
  });

  it("sends CallType=trans, the StatusCallback with its credential, TimeLimit and Record (defaults and per call)", async () => {
    const r = await place(bUpper, { to: "+919876500003", time_limit_s: 120, record: true });
    const sid = (r.json as { call_sid: string }).call_sid;
    const form = upper.calls.get(sid) as URLSearchParams;
    assert.equal(form.get("CallType"), "trans");
    assert.equal(form.get("TimeLimit"), "120");
    assert.equal(form.get("Record"), "true");
    assert.equal(form.get("RecordingChannels"), "dual");
    assert.equal(form.get("StatusCallback"), `${bUpper.httpUrl}/exotel/status?token=${HOOK}`);
    assert.equal(form.get("StatusCallbackEvents[0]"), "terminal");
    assert.equal(form.get("StatusCallbackContentType"), "application/json");
    // The configured defaults, when the request says nothing.
    const d = await place(bUpper, { to: "+919876500004" });
    const dForm = upper.calls.get((d.json as { call_sid: string }).call_sid) as URLSearchParams;
    assert.equal(dForm.get("TimeLimit"), "900");
    assert.equal(dForm.get("Record"), null);
    const l = await place(bLower, { to: "+919876500005" });
    const lForm = lower.calls.get((l.json as { call_sid: string }).call_sid) as URLSearchParams;
    assert.equal(lForm.get("Record"), "true");
    assert.equal(lForm.get("RecordingChannels"), "single");
    assert.equal(lForm.get("TimeLimit"), null);
    // Out-of-range options are refused before Exotel is asked.
    const before = upper.requests.length;
    assert.equal((await place(bUpper, { to: "+919876500006", time_limit_s: 20_000 })).status, 400);
    assert.equal((await place(bUpper, { to: "+919876500006", record: "yes" })).status, 400);
    assert.equal(upper.requests.length, before);
  });

  it("records each call's outcome from Exotel's status callback: state, counter by status, one outbound_status line", async () => {
    const sids: string[] = [];
    for (const to of ["+919876500010", "+919876500011", "+919876500012", "+919876500013"]) {
      const r = await place(bUpper, { to, record: true });
      sids.push((r.json as { call_sid: string }).call_sid);
    }
    const [busy, noAnswer, failed, done] = sids as [string, string, string, string];
    assert.equal(await upper.finish(busy, "busy"), 200);
    assert.equal(await upper.finish(noAnswer, "no-answer"), 200);
    assert.equal(await upper.finish(failed, "failed"), 200);
    assert.equal(
      await upper.finish(done, "completed", {
        durationS: 73,
        recordingUrl: "https://recordings.example/r1.mp3",
      }),
      200,
    );

    const rec = await bUpper.control.records.getOutbound(done);
    assert.equal(rec?.to, "+919876500013");
    assert.equal(rec?.status, "completed");
    assert.equal(rec?.durationS, 73);
    assert.equal(rec?.recordingUrl, "https://recordings.example/r1.mp3");
    assert.equal((await bUpper.control.records.getOutbound(busy))?.status, "busy");
    assert.equal((await bUpper.control.records.getOutbound(noAnswer))?.status, "no-answer");

    const line = await bUpper.logs.waitFor("outbound_status", 3000, (l) => l.call_sid === done);
    assert.equal(line.status, "completed");
    assert.equal(line.duration_s, 73);
    assert.equal(line.exotel_event, "terminal");
    assert.equal(line.known, true);
    assert.equal(bUpper.logs.events("outbound_status").filter((l) => l.call_sid === busy).length, 1);

    const metrics = await (
      await fetch(`${bUpper.httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    for (const status of ["busy", "no-answer", "failed", "completed"])
      assert.match(metrics, new RegExp(`exotel_bridge_outbound_calls_total\\{status="${status}"\\} 1\\b`));
    assert.match(metrics, /exotel_bridge_outbound_calls_total\{status="placed"\} \d+/);
  });

  it("takes the callback as a form too, and refuses it without the credential", async () => {
    const form = await request(`${bUpper.httpUrl}/exotel/status?token=${HOOK}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "CallSid=CAformstatus&Status=busy&DateUpdated=2026-11-30+00%3A30%3A00&RecordingUrl=",
    });
    assert.equal(form.status, 200);
    const line = await bUpper.logs.waitFor("outbound_status", 3000, (l) => l.call_sid === "CAformstatus");
    assert.equal(line.status, "busy");
    assert.equal(line.known, false);
    assert.equal(
      await bUpper.control.records.getOutbound("CAformstatus"),
      undefined,
      "no record for a call we did not place",
    );
    const refused = await request(`${bUpper.httpUrl}/exotel/status`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ CallSid: "CAx", Status: "completed" }),
    });
    assert.equal(refused.status, 401);
    assert.ok(!bUpper.logs.raw.includes(HOOK), "the token is never logged");
  });

  it("with only EXOTEL_BASIC_AUTH the StatusCallback carries it in the URL, and Exotel's callback gets through", async () => {
    const b = await bridgeFor(upper, { EXOTEL_WEBHOOK_TOKEN: "", EXOTEL_BASIC_AUTH: "cbkey:cb-secret-0123" });
    try {
      const r = await place(b, { to: "+919876500020" });
      assert.equal(r.status, 201, r.text);
      const sid = (r.json as { call_sid: string }).call_sid;
      const cb = new URL((upper.calls.get(sid) as URLSearchParams).get("StatusCallback") as string);
      assert.equal(`${cb.username}:${cb.password}`, "cbkey:cb-secret-0123");
      assert.equal(cb.pathname, "/exotel/status");
      assert.equal(await upper.finish(sid, "no-answer"), 200);
      assert.equal((await b.control.records.getOutbound(sid))?.status, "no-answer");
    } finally {
      await b.close();
    }
  });
});
