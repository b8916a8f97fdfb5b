/**
 * The local test agent over real HTTP and WebSocket, driven by a plain `ws` client written here
 * (not the bridge): signed-URL auth, the conversation protocol as documented in
 * docs/protocols.md, recording, script/echo behaviour, barge-in, end_call and
 * the failure modes.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";
import { pcm16ToUlaw } from "../../app/src/audio/mulaw.js";
import { silence, tone, toneAmplitude } from "../../scripts/lib/audio.js";
import {
  type LocalAgent,
  type LocalAgentOptions,
  type ScriptPrompts,
  startLocalAgent,
} from "../../scripts/lib/local-agent.js";

const KEY = "xi-test-key";

type Msg = Record<string, unknown> & { type?: string };

/** The nested event object of a message (`m.agent_response_event`...), {} when absent. */
function ev(m: Msg | undefined, key: string): Record<string, unknown> {
  return ((m?.[key] as Record<string, unknown> | undefined) ?? {}) as Record<string, unknown>;
}

/** A minimal agent-protocol client: collects every server message with its arrival time. */
class Client {
  readonly messages: Array<{ at: number; msg: Msg }> = [];
  readonly opened = performance.now();
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      let msg: Msg;
      try {
        msg = JSON.parse(String(d)) as Msg;
      } catch {
        msg = { type: "(not json)", text: String(d) };
      }
      this.messages.push({ at: performance.now() - this.opened, msg });
    });
    this.closed = new Promise((r) => ws.on("close", (code, reason) => r({ code, reason: String(reason) })));
  }

  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once("open", () => resolve(new Client(ws)));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  audio(bytes: Buffer): void {
    this.send({ user_audio_chunk: bytes.toString("base64") });
  }

  of(type: string): Msg[] {
    return this.messages.filter((m) => m.msg.type === type).map((m) => m.msg);
  }

  async waitFor(pred: () => boolean, ms = 3000, what = "message"): Promise<void> {
    const end = performance.now() + ms;
    while (!pred()) {
      if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  }

  /** Streams PCM at real time in 100 ms chunks. */
  async stream(pcm: Buffer, rate: number): Promise<void> {
    const chunk = (rate / 10) * 2;
    const t0 = performance.now();
    for (let i = 0; i * chunk < pcm.length; i++) {
      const wait = t0 + i * 100 - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.audio(pcm.subarray(i * chunk, (i + 1) * chunk));
    }
  }
}

const agents: LocalAgent[] = [];
async function agentWith(options: LocalAgentOptions): Promise<LocalAgent> {
  const a = await startLocalAgent({ pingIntervalMs: 0, initiationWaitMs: 300, ...options });
  agents.push(a);
  return a;
}
after(async () => {
  await Promise.all(agents.map((a) => a.close()));
});

async function signedUrl(agent: LocalAgent, agentId: string, key: string | undefined): Promise<Response> {
  return fetch(`${agent.url}/v1/convai/conversation/get-signed-url?agent_id=${agentId}`, {
    headers: key === undefined ? {} : { "xi-api-key": key },
  });
}

function wsUrl(agent: LocalAgent, query: string): string {
  return `${agent.url.replace("http", "ws")}/v1/convai/conversation?${query}`;
}

/** Short tone prompts so script-mode tests run in seconds. */
function tonePrompts(): ScriptPrompts {
  const u = (text: string, hz: number, ms: number) => ({
    text,
    pcm: tone(hz, ms, 16000, 0.4),
    sampleRate: 16000,
  });
  return {
    greeting: u("greeting", 500, 400),
    replies: [u("reply one is a long answer with many words in it", 700, 3000), u("reply two", 800, 400)],
    afterInterruption: u("go ahead", 900, 400),
    afterUserMessage: u("got the digits", 1000, 400),
    goodbye: u("goodbye", 1100, 600),
  };
}

describe("signed URL and upgrade auth", () => {
  it("checks the key, knows its agents, and hands out single-use signatures", async () => {
    const agent = await agentWith({ apiKey: KEY, agents: ["agent_a"] });
    assert.equal((await signedUrl(agent, "agent_a", undefined)).status, 401);
    assert.equal((await signedUrl(agent, "agent_a", "wrong")).status, 401);
    assert.equal((await signedUrl(agent, "agent_b", KEY)).status, 404);
    const res = await signedUrl(agent, "agent_a", KEY);
    assert.equal(res.status, 200);
    const { signed_url } = (await res.json()) as { signed_url: string };
    const u = new URL(signed_url);
    assert.equal(u.protocol, "ws:");
    assert.equal(u.pathname, "/v1/convai/conversation");
    assert.equal(u.searchParams.get("agent_id"), "agent_a");
    assert.ok((u.searchParams.get("conversation_signature") ?? "").length >= 16);

    await assert.rejects(Client.open(wsUrl(agent, "agent_id=agent_a")), /HTTP 401/);
    await assert.rejects(
      Client.open(wsUrl(agent, "agent_id=agent_a&conversation_signature=forged")),
      /HTTP 403/,
    );
    const c = await Client.open(signed_url);
    c.ws.close();
    await assert.rejects(Client.open(signed_url), /HTTP 403/, "a signature works once");
    assert.deepEqual(
      agent.signedUrlRequests.map((r) => r.status),
      [401, 401, 404, 200],
    );
  });

  it("expired signatures are refused", async () => {
    const agent = await agentWith({ apiKey: KEY, signatureTtlMs: 50 });
    const { signed_url } = (await (await signedUrl(agent, "local-test-agent", KEY)).json()) as {
      signed_url: string;
    };
    await sleep(100);
    await assert.rejects(Client.open(signed_url), /HTTP 403/);
  });

  it("public mode accepts any known agent without a signature; unknown agents get 404", async () => {
    const agent = await agentWith({});
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    await c.waitFor(() => c.of("conversation_initiation_metadata").length === 1);
    c.ws.close();
    await assert.rejects(Client.open(wsUrl(agent, "agent_id=nobody")), /HTTP 404/);
  });

  it("bad_key and unknown_agent failures refuse even the right key and agent", async () => {
    const bad = await agentWith({ apiKey: KEY, failure: { kind: "bad_key" } });
    assert.equal((await signedUrl(bad, "local-test-agent", KEY)).status, 401);
    const unknown = await agentWith({ apiKey: KEY, failure: { kind: "unknown_agent" } });
    assert.equal((await signedUrl(unknown, "local-test-agent", KEY)).status, 404);
  });
});

describe("conversation protocol", () => {
  it("records init data, announces formats, pings and records pongs, decodes and records everything", async () => {
    const agent = await agentWith({
      outputFormat: "pcm_8000",
      inputFormat: "ulaw_8000",
      pingIntervalMs: 100,
    });
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    const conv = await agent.nextConversation();
    const init = { type: "conversation_initiation_client_data", dynamic_variables: { caller_number: "+91" } };
    c.send(init);
    await c.waitFor(() => c.of("conversation_initiation_metadata").length === 1, 2000, "metadata");
    const meta = c.of("conversation_initiation_metadata")[0] as {
      conversation_initiation_metadata_event: Record<string, string>;
    };
    assert.deepEqual(meta.conversation_initiation_metadata_event, {
      conversation_id: conv.id,
      agent_output_audio_format: "pcm_8000",
      user_input_audio_format: "ulaw_8000",
    });
    assert.deepEqual(conv.initiation, init);
    // Metadata went out as soon as init data arrived, not after the wait.
    assert.ok((c.messages[0]?.at ?? 1e9) < 250);

    await c.waitFor(() => c.of("ping").length >= 2, 2000, "pings");
    const pings = c.of("ping") as Array<{ ping_event: { event_id: number; ping_ms: number | null } }>;
    assert.ok(pings.every((p) => Number.isInteger(p.ping_event.event_id) && "ping_ms" in p.ping_event));
    assert.notEqual(pings[0]?.ping_event.event_id, pings[1]?.ping_event.event_id);
    c.send({ type: "pong", event_id: pings[0]?.ping_event.event_id });
    await conv.waitFor((x) => x.pongs.length === 1);
    assert.equal(conv.pongs[0]?.eventId, pings[0]?.ping_event.event_id);
    assert.ok((conv.pongs[0]?.rttMs ?? -1) >= 0);
    // The next ping reports the measured round trip.
    await c.waitFor(
      () => (c.of("ping").at(-1) as { ping_event: { ping_ms: unknown } }).ping_event.ping_ms !== null,
    );

    const pcm = tone(440, 200, 8000, 0.3);
    const ulaw = pcm16ToUlaw(pcm);
    c.audio(ulaw.subarray(0, 800));
    c.audio(ulaw.subarray(800));
    c.send({ type: "user_message", text: "4567" });
    c.send({ type: "contextual_update", text: "Caller pressed 2" });
    c.send({ type: "client_tool_result", tool_call_id: "t1", result: "ok", is_error: false });
    c.send({ type: "user_activity" });
    c.send({ type: "brand_new_thing", x: 1 });
    c.ws.send("{not json");
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    c.send({ user_audio_chunk: "abc" });
    await conv.waitFor((x) => x.malformed.length >= 3, 2000, "malformed frames");
    assert.ok(conv.userAudio().equals(ulaw), "ulaw kept byte for byte");
    assert.equal(conv.userAudioPcm().length, pcm.length);
    assert.ok(toneAmplitude(conv.userAudioPcm(), 8000, 440) > 0.25, "decoded ulaw is the tone");
    assert.deepEqual(conv.userMessages, ["4567"]);
    assert.deepEqual(conv.contextualUpdates, ["Caller pressed 2"]);
    assert.equal(conv.toolResults[0]?.tool_call_id, "t1");
    assert.equal(conv.userActivity, 1);
    assert.deepEqual(conv.unknown, [{ type: "brand_new_thing", x: 1 }]);
    assert.deepEqual(
      conv.malformed.map((m) => m.problem),
      ["not JSON", "binary frame", "user_audio_chunk is not strict base64"],
    );
    c.ws.close(1000);
    const closed = await conv.closed;
    assert.deepEqual(closed, { code: 1000, reason: "", by: "client" });
  });

  it("proceeds without init data when the first message is something else", async () => {
    const agent = await agentWith({ initiationWaitMs: 5000 });
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    const conv = await agent.nextConversation();
    c.audio(silence(100, 16000));
    await c.waitFor(() => c.of("conversation_initiation_metadata").length === 1, 1000, "metadata");
    assert.equal(conv.initiation, undefined);
    assert.equal(conv.userAudio().length, 3200);
    c.ws.close();
  });

  it("manual mode: the test's audio, interruption, raw frames and close reach the client", async () => {
    const agent = await agentWith({ outputFormat: "ulaw_8000" });
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    const conv = await agent.nextConversation();
    await c.waitFor(() => c.of("conversation_initiation_metadata").length === 1, 1000);
    const pcm = tone(300, 100, 8000);
    conv.sendAudio(pcm, 7);
    conv.interrupt(7);
    conv.sendRaw("{oops");
    conv.sendJson({ type: "vad_score", vad_score_event: { vad_score: 0.5 } });
    conv.close(1011, "boom");
    const closed = await c.closed;
    assert.deepEqual(closed, { code: 1011, reason: "boom" });
    assert.deepEqual((await conv.closed).by, "agent");
    const audio = c.of("audio")[0] as { audio_event: { audio_base_64: string; event_id: number } };
    assert.equal(audio.audio_event.event_id, 7);
    assert.ok(
      Buffer.from(audio.audio_event.audio_base_64, "base64").equals(pcm16ToUlaw(pcm)),
      "mu-law encoded",
    );
    assert.deepEqual(c.of("interruption"), [{ type: "interruption", interruption_event: { event_id: 7 } }]);
    assert.equal(c.of("vad_score").length, 1);
    // The raw frame was sent as is (this client's JSON.parse would have thrown: it is not in messages).
    assert.ok(conv.sent.some((m) => m.type === "raw" && m.message === "{oops"));
    assert.deepEqual(c.of("(not json)"), [{ type: "(not json)", text: "{oops" }]);
  });
});

describe("failure modes", () => {
  async function run(options: LocalAgentOptions, init: Record<string, unknown> = {}): Promise<Client> {
    const agent = await agentWith(options);
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    c.send({ type: "conversation_initiation_client_data", dynamic_variables: {}, ...init });
    return c;
  }

  it("error_1008: typed error event, then close 1008, no metadata", async () => {
    const c = await run({ failure: { kind: "error_1008", errorType: "override_error", message: "nope" } });
    assert.equal((await c.closed).code, 1008);
    assert.deepEqual(c.of("error"), [
      {
        type: "error",
        error_event: { code: 1008, message: "nope", error_type: "override_error", reason: "nope" },
      },
    ]);
    assert.equal(c.of("conversation_initiation_metadata").length, 0);
  });

  it("missing required dynamic variable fails with missing_dynamic_variable; present ones pass", async () => {
    const c = await run({ requiredDynamicVariables: ["customer_name"] });
    assert.equal((await c.closed).code, 1008);
    const err = c.of("error")[0] as { error_event: { error_type: string; message: string } };
    assert.equal(err.error_event.error_type, "missing_dynamic_variable");
    assert.match(err.error_event.message, /customer_name/);
    const ok = await run(
      { requiredDynamicVariables: ["customer_name"] },
      { dynamic_variables: { customer_name: "A" } },
    );
    await ok.waitFor(() => ok.of("conversation_initiation_metadata").length === 1);
    ok.ws.close();
  });

  it("flat_error_1002 after metadata; close_1011 and drop mid-call", async () => {
    const flat = await run({ failure: { kind: "flat_error_1002", message: "quota", afterMs: 100 } });
    assert.equal((await flat.closed).code, 1002);
    assert.deepEqual(flat.of("error"), [{ type: "error", message: "quota" }]);
    assert.equal(flat.of("conversation_initiation_metadata").length, 1);
    const c1011 = await run({ failure: { kind: "close_1011", afterMs: 100 } });
    assert.equal((await c1011.closed).code, 1011);
    const drop = await run({ failure: { kind: "drop", afterMs: 100 } });
    assert.equal((await drop.closed).code, 1006);
  });

  it("userInputTimeoutMs: closes 1002 when the caller audio stops, not while it flows", async () => {
    const c = await run({ userInputTimeoutMs: 400 });
    const t0 = performance.now();
    await c.stream(silence(800, 16000), 16000);
    assert.equal(c.ws.readyState, WebSocket.OPEN, "silence frames keep it alive");
    const closed = await c.closed;
    assert.equal(closed.code, 1002);
    // The last chunk leaves at 700 ms: the close must come 400 ms after it, not before.
    assert.ok(performance.now() - t0 >= 700 + 380, "closed only after the audio stopped");
  });

  it("silence: never sends metadata", async () => {
    const c = await run({ failure: { kind: "silence" } });
    await sleep(700);
    assert.equal(c.messages.length, 0);
    c.ws.close();
  });
});

describe("script mode", () => {
  it("greets in bursts, answers a turn, yields to barge-in, answers DTMF, ends the call", async () => {
    const prompts = tonePrompts();
    const agent = await agentWith({
      mode: "script",
      prompts,
      outputFormat: "pcm_16000",
      inputFormat: "pcm_8000",
      responseDelayMs: 50,
      vad: { hangoverMs: 300 },
      audioSpeedup: 4,
      endCallAfterReplies: 2,
    });
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    const conv = await agent.nextConversation();
    c.send({ type: "conversation_initiation_client_data" });

    // Greeting: agent_response first, then audio with one event id, sent faster than real time.
    await c.waitFor(() => c.of("audio").length >= 2, 2000, "greeting audio");
    const first = c.messages.findIndex((m) => m.msg.type === "audio");
    assert.equal(c.messages[first - 1]?.msg.type, "agent_response");
    const greetingId = (c.of("agent_response")[0] as { agent_response_event: { event_id: number } })
      .agent_response_event.event_id;
    assert.ok(c.of("audio").every((a) => (a.audio_event as { event_id: number }).event_id === greetingId));
    const sentAudio = c
      .of("audio")
      .reduce(
        (n, a) =>
          n + Buffer.from(String((a.audio_event as Record<string, unknown>).audio_base_64), "base64").length,
        0,
      );
    assert.equal(sentAudio, 400 * 32, "the whole greeting");

    // Caller turn: 600 ms of speech, then silence, streamed in real time after the greeting played.
    await sleep(450);
    const turn = Buffer.concat([tone(300, 600, 8000, 0.3), silence(700, 8000)]);
    await c.stream(turn, 8000);
    await c.waitFor(() => c.of("user_transcript").length === 1, 2000, "user_transcript");
    assert.match(
      String(ev(c.of("user_transcript")[0], "user_transcription_event").user_transcript),
      /^\(caller spoke 0\.6 s\)$/,
    );
    // Reply one (3 s) starts; the caller talks over it 1 s in.
    await c.waitFor(() => c.of("agent_response").length === 2, 2000, "reply");
    const replyId = ev(c.of("agent_response")[1], "agent_response_event").event_id as number;
    assert.ok(replyId > greetingId);
    await sleep(1000);
    const audioBefore = c.of("audio").length;
    await c.stream(Buffer.concat([tone(300, 500, 8000, 0.3), silence(600, 8000)]), 8000);
    await c.waitFor(() => c.of("interruption").length === 1, 2000, "interruption");
    const interruption = c.of("interruption")[0]?.interruption_event as { event_id: number };
    assert.equal(interruption.event_id, replyId);
    const iIdx = c.messages.findIndex((m) => m.msg.type === "interruption");
    assert.equal(c.messages[iIdx + 1]?.msg.type, "agent_response_correction");
    const corr = c.messages[iIdx + 1]?.msg.agent_response_correction_event as Record<string, unknown>;
    assert.equal(corr.original_agent_response, prompts.replies[0]?.text);
    assert.match(String(corr.corrected_agent_response), /\.\.\.$/);
    assert.ok(String(corr.corrected_agent_response).length < String(corr.original_agent_response).length);
    // Nothing more of the interrupted reply after the interruption (it was still sending: 3 s at 4x).
    const replyChunksAfter = c.messages
      .slice(iIdx)
      .filter(
        (m) => m.msg.type === "audio" && (m.msg.audio_event as { event_id: number }).event_id === replyId,
      );
    assert.equal(replyChunksAfter.length, 0);
    assert.ok(audioBefore > 0);

    // The barge-in turn is answered with the "go ahead" prompt.
    await c.waitFor(() => c.of("agent_response").length === 3, 3000, "answer to the barge-in");
    assert.equal(ev(c.of("agent_response")[2], "agent_response_event").agent_response, "go ahead");
    await sleep(600);
    // A user_message (DTMF via the bridge) is answered too; that is the 2nd completed reply -> end_call.
    c.send({ type: "user_message", text: "4567" });
    const closed = await c.closed;
    assert.deepEqual(closed, { code: 1000, reason: "end_call" });
    const texts = c
      .of("agent_response")
      .map((m) => (m.agent_response_event as { agent_response: string }).agent_response);
    assert.deepEqual(texts.slice(3), ["got the digits", "goodbye"]);
    const tool = c.of("agent_tool_response")[0]?.agent_tool_response as Record<string, unknown>;
    assert.equal(tool.tool_name, "end_call");
    assert.equal(tool.tool_type, "system");
    // The close waited for the goodbye to play (600 ms from its first chunk).
    const goodbyeAt = c.messages.find(
      (m) =>
        m.msg.type === "agent_response" &&
        (m.msg.agent_response_event as Record<string, unknown>).agent_response === "goodbye",
    )?.at as number;
    assert.ok(performance.now() - c.opened - goodbyeAt >= 550, "closed only after the goodbye played");
    assert.equal(conv.interruptions.length, 1);
    assert.equal(conv.callerTurns.length, 2);
  });

  it("an empty first_message override means no greeting; slow_first_audio delays the first audio", async () => {
    const agent = await agentWith({ mode: "script", prompts: tonePrompts() });
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    c.send({
      type: "conversation_initiation_client_data",
      conversation_config_override: { agent: { first_message: "" } },
    });
    await sleep(500);
    assert.equal(c.of("agent_response").length, 0);
    c.ws.close();

    const slow = await agentWith({
      mode: "script",
      prompts: tonePrompts(),
      failure: { kind: "slow_first_audio", delayMs: 600 },
    });
    const s = await Client.open(wsUrl(slow, "agent_id=local-test-agent"));
    s.send({ type: "conversation_initiation_client_data" });
    await s.waitFor(() => s.of("audio").length > 0, 3000, "audio");
    const resp = s.messages.find((m) => m.msg.type === "agent_response")?.at as number;
    const audio = s.messages.find((m) => m.msg.type === "audio")?.at as number;
    assert.ok(audio - resp >= 550, `first audio ${Math.round(audio - resp)} ms after its text`);
    s.ws.close();
  });
});

describe("echo mode", () => {
  it("plays the caller's turn back, converted to the output format", async () => {
    const agent = await agentWith({
      mode: "echo",
      greeting: false,
      inputFormat: "pcm_16000",
      outputFormat: "pcm_8000",
      responseDelayMs: 0,
      vad: { hangoverMs: 300 },
      audioSpeedup: Number.POSITIVE_INFINITY,
    });
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    c.send({ type: "conversation_initiation_client_data" });
    await c.waitFor(() => c.of("conversation_initiation_metadata").length === 1);
    await c.stream(
      Buffer.concat([silence(200, 16000), tone(440, 800, 16000, 0.4), silence(500, 16000)]),
      16000,
    );
    const echoAudio = (): Buffer =>
      Buffer.concat(
        c
          .of("audio")
          .map((a) =>
            Buffer.from(String((a.audio_event as Record<string, unknown>).audio_base_64), "base64"),
          ),
      );
    // Waits for the whole echo (at least 0.9 s of 8 kHz audio), however slowly it arrives.
    await c.waitFor(() => echoAudio().length >= 900 * 16, 10_000, "echo audio");
    await sleep(100);
    const echo = echoAudio();
    const ms = echo.length / 16;
    assert.ok(ms >= 900 && ms <= 1100, `echo is the 0.8 s turn plus 100 ms either side (${ms} ms)`);
    assert.ok(toneAmplitude(echo, 8000, 440, 1600, 12800) > 0.3, "the 440 Hz tone comes back at 8 kHz");
    assert.match(
      String(ev(c.of("agent_response")[0], "agent_response_event").agent_response),
      /echo of 0\.8 s/,
    );
    c.ws.close();
  });
});

describe("waitFor sees state as soon as the event that changed it", () => {
  it("resolves on metadataSent, initiation and userMessages with no later traffic", async () => {
    const agent = await agentWith({ initiationWaitMs: 5000 });
    const c = await Client.open(wsUrl(agent, "agent_id=local-test-agent"));
    const conv = await agent.nextConversation();
    // Pings are off: after each message below, nothing else happens that could re-run a predicate.
    const started = Promise.all([
      conv.waitFor((x) => x.metadataSent, 1000, "metadataSent"),
      conv.waitFor((x) => x.initiation !== undefined, 1000, "initiation"),
    ]);
    c.send({ type: "conversation_initiation_client_data" });
    await started;
    const message = conv.waitFor((x) => x.userMessages.length === 1, 1000, "user message");
    c.send({ type: "user_message", text: "hi" });
    await message;
    c.ws.close();
  });
});
