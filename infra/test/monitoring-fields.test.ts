// Every log-based metric, checked against what the bridge really writes. Real calls run through the
// real bridge (a finished call with first audio, a reply, a barge-in and a transfer-free hang-up; a
// call whose agent refuses the connection), a real post-call webhook is delivered (accepted and
// refused), and an Exotel upgrade is refused. Each captured pino line is turned into the LogEntry
// Cloud Run makes of it (special fields lifted out, the rest under jsonPayload), and for every
// metric spec some entry must match its conditions and carry every field its extractors read.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { alertSpecs } from "../lib/alerts";
import { CALL_METRICS, type FieldCondition, LOGGED_EVENTS } from "../lib/call-metrics";
import { dashboardJson } from "../lib/dashboard";

// The bridge is an ES module with top-level await and this program is CommonJS, so the bridge and
// its test support are loaded with import() by path (which also keeps infra's type-check out of
// app/); the few shapes used here are declared below.
type LogLine = Record<string, unknown> & { severity?: string; event?: string };
let END_REASONS: Record<string, unknown>;

function esm<T>(fromRoot: string): Promise<T> {
  return import(path.join(__dirname, "..", "..", fromRoot)) as Promise<T>;
}

interface Frame {
  event?: string;
}
interface Sock {
  readonly callSid: string;
  readonly closed: Promise<unknown>;
  sendConnected(): void;
  sendStart(): void;
  sendMedia(pcm: Buffer): void;
  sendStop(): void;
  close(): void;
  waitFor(p: (frames: Frame[]) => boolean, timeoutMs: number, what: string): Promise<void>;
}
interface ExotelSocketClass {
  connect(o: { url: string; sampleRate: number }): Promise<Sock>;
}
interface Conversation {
  readonly id: string;
  newEventId(): number;
  sendAudio(pcm: Buffer, eventId: number): void;
  sendUserTranscript(text: string, eventId: number): void;
  interrupt(eventId: number): void;
}
interface Logs {
  readonly lines: LogLine[];
  waitFor(p: (lines: LogLine[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  summary(timeoutMs?: number): Promise<LogLine>;
}
interface TestBridge {
  readonly url: string;
  readonly http: string;
  readonly logs: Logs;
  close(): Promise<void>;
}
interface BridgeSupport {
  API_KEY: string;
  startBridge(env: Record<string, string>): Promise<TestBridge>;
  startRig(
    agent: Record<string, unknown>,
    env: Record<string, string>,
  ): Promise<{
    bridge: TestBridge;
    agent: { nextConversation(ms: number): Promise<Conversation> };
    close(): Promise<void>;
  }>;
}
interface Fixtures {
  SECRET: string;
  transcriptionBody(conversationId: string): string;
  deliver(url: string, body: string, o?: { signedBody?: string }): Promise<{ status: number }>;
}

/** Fields Cloud Run's logging agent lifts out of a JSON line (Cloud Logging, "Structured logging"). */
const SPECIAL_FIELDS = [
  "severity",
  "time",
  "timestamp",
  "httpRequest",
  "logging.googleapis.com/labels",
  "logging.googleapis.com/insertId",
  "logging.googleapis.com/operation",
  "logging.googleapis.com/sourceLocation",
  "logging.googleapis.com/spanId",
  "logging.googleapis.com/trace",
  "logging.googleapis.com/trace_sampled",
];

interface Entry {
  severity: unknown;
  labels: unknown;
  jsonPayload: Record<string, unknown>;
}

function toLogEntry(line: LogLine): Entry {
  const jsonPayload: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(line)) if (!SPECIAL_FIELDS.includes(k)) jsonPayload[k] = v;
  return { severity: line.severity, labels: line["logging.googleapis.com/labels"], jsonPayload };
}

function at(payload: Record<string, unknown>, field: string): unknown {
  let v: unknown = payload;
  for (const part of field.split("."))
    v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

function holds(e: Entry, c: FieldCondition): boolean {
  const v = at(e.jsonPayload, c.field);
  if ("equals" in c) return v === c.equals;
  if ("oneOf" in c) return c.oneOf.includes(String(v));
  return v !== undefined && v !== null;
}

const entries: Entry[] = [];

/** A signed-URL endpoint that refuses every request with 403 (ElevenLabs' answer to a bad key). */
async function refusingAgent() {
  const server = http.createServer((_req, res) => {
    res.writeHead(403, { "content-type": "application/json" }).end('{"detail":"invalid api key"}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

before(async () => {
  ({ END_REASONS } = await esm<{ END_REASONS: Record<string, unknown> }>("app/src/call-endings.ts"));
  const { ExotelSocket } = await esm<{ ExotelSocket: ExotelSocketClass }>("scripts/lib/exotel-caller.ts");
  const { deliver, SECRET, transcriptionBody } = await esm<Fixtures>("test/analysis/fixtures.ts");
  const { API_KEY, startBridge, startRig } = await esm<BridgeSupport>("test/support/bridge.ts");
  const { tone } = await esm<{ tone: (hz: number, rate: number, ms: number) => Buffer }>(
    "test/support/dsp.ts",
  );
  // 1. A call that got agent audio, a reply to a caller turn, and a barge-in; the caller hangs up.
  const rig = await startRig(
    { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
    { ELEVENLABS_WEBHOOK_SECRET: SECRET, EXOTEL_BASIC_AUTH: "key:token" },
  );
  try {
    const sock = await ExotelSocket.connect({
      url: rig.bridge.url.replace("ws://", "ws://key:token@"),
      sampleRate: 8000,
    });
    sock.sendConnected();
    sock.sendStart();
    const conv = await rig.agent.nextConversation(5000);
    await rig.bridge.logs.waitFor(
      (l) => l.some((x) => x.event === "agent_connected"),
      5000,
      "agent_connected",
    );
    const greeting = conv.newEventId();
    conv.sendAudio(tone(300, 8000, 3000), greeting);
    await sock.waitFor((f) => f.filter((x) => x.event === "media").length >= 2, 5000, "first agent audio");
    conv.interrupt(greeting);
    await sock.waitFor((f) => f.some((x) => x.event === "clear"), 5000, "clear");
    // Response latency runs from the end of the caller's speech: the caller speaks, then is silent.
    sock.sendMedia(tone(300, 8000, 500));
    sock.sendMedia(Buffer.alloc(1600));
    conv.sendUserTranscript("where is my order", conv.newEventId());
    const reply = conv.newEventId();
    conv.sendAudio(tone(500, 8000, 400), reply);
    await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "reply played");
    sock.sendStop();
    sock.close();
    await rig.bridge.logs.summary(10_000);
    // 2. ElevenLabs' analysis of that conversation, then a tampered delivery.
    assert.equal((await deliver(rig.bridge.http, transcriptionBody(conv.id))).status, 200);
    const tampered = await deliver(rig.bridge.http, transcriptionBody("conv_x"), {
      signedBody: transcriptionBody("conv_y"),
    });
    assert.equal(tampered.status, 401);
    // 3. An Exotel upgrade without the Basic credentials.
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(rig.bridge.url);
      ws.on("error", () => resolve());
      ws.on("unexpected-response", (_req, res) => {
        res.resume();
        resolve();
      });
    });
    await rig.bridge.logs.waitFor(
      (l) => l.some((x) => x.event === "upgrade_refused"),
      5000,
      "upgrade_refused",
    );
    entries.push(...rig.bridge.logs.lines.map(toLogEntry));
  } finally {
    await rig.close();
  }

  // 4. A call whose agent refuses the connection.
  const upstream = await refusingAgent();
  const b = await startBridge({
    ELEVENLABS_AGENT_ID: "agent_x",
    ELEVENLABS_API_KEY: API_KEY,
    ELEVENLABS_BASE_URL: upstream.url,
  });
  try {
    const sock = await ExotelSocket.connect({ url: b.url, sampleRate: 8000 });
    sock.sendConnected();
    sock.sendStart();
    await sock.closed;
    await b.logs.summary(10_000);
    entries.push(...b.logs.lines.map(toLogEntry));
  } finally {
    await b.close();
    await new Promise<void>((r) => upstream.server.close(() => r()));
  }
});

after(() => {
  entries.length = 0;
});

describe("log-based metrics against the bridge's own output", () => {
  it("captured every record the metrics read", () => {
    for (const event of LOGGED_EVENTS) {
      assert.ok(
        entries.some((e) => e.jsonPayload.event === event),
        `the bridge logged ${event}`,
      );
    }
  });

  for (const spec of CALL_METRICS) {
    it(`${spec.id}: matches a real ${spec.event} and finds every field it extracts`, () => {
      const ofEvent = entries.filter((e) => e.jsonPayload.event === spec.event);
      // Conditions on values these calls did not produce (agent_transfer...) must at least name
      // values the bridge can log; the field itself must be present on the record.
      const producible = (spec.where ?? []).every((c) => {
        if ("present" in c) return true;
        const values = "equals" in c ? [c.equals] : c.oneOf;
        if (c.field === "end_reason")
          for (const v of values) assert.ok(v in END_REASONS, `${v} is an end reason`);
        assert.ok(
          ofEvent.some((e) => at(e.jsonPayload, c.field) !== undefined),
          `${c.field} is logged`,
        );
        return ofEvent.some((e) => holds(e, c));
      });
      if (!producible) return;
      const matching = ofEvent.filter((e) => (spec.where ?? []).every((c) => holds(e, c)));
      assert.ok(matching.length > 0, `some ${spec.event} matches ${JSON.stringify(spec.where)}`);
      for (const [label, l] of Object.entries(spec.labels ?? {})) {
        const v = at((matching[0] as Entry).jsonPayload, l.field);
        assert.ok(
          ["string", "number", "boolean"].includes(typeof v),
          `label ${label} <- ${l.field} = ${JSON.stringify(v)}`,
        );
      }
      if (spec.value) {
        const v = at((matching[0] as Entry).jsonPayload, spec.value.field);
        assert.equal(typeof v, "number", `value <- ${spec.value.field} = ${JSON.stringify(v)}`);
      }
    });
  }

  it("the latency, interruption and connect-failure records carry real values", () => {
    const summaries = entries.filter((e) => e.jsonPayload.event === "call_summary").map((e) => e.jsonPayload);
    const talked = summaries.find((s) => s.end_reason === "caller_hangup");
    assert.ok(talked, "the caller's hang-up was summarised");
    assert.ok((talked.time_to_first_audio_ms as number) >= 0);
    assert.ok((at(talked, "response_latency_ms.avg") as number) >= 0);
    assert.equal(talked.interruptions, 1);
    const failed = summaries.find((s) => s.end_reason === "agent_connect_failed");
    assert.equal(at(failed ?? {}, "agent_error.type"), "auth");
    const analysis = entries.find((e) => e.jsonPayload.event === "call_analysis");
    assert.equal(analysis?.jsonPayload.call_successful, "success");
    assert.equal(analysis?.jsonPayload.call_sid, talked.call_sid, "joined to the Exotel call");
  });

  it("the label values dashboards and alerts select are values the bridge logs", () => {
    const selected = [
      dashboardJson("svc", "d"),
      JSON.stringify(
        alertSpecs("svc", { connectFailurePercent: 1, errorEndings: 1, cpuPercent: 1, memoryPercent: 1 }),
      ),
    ].join("\n");
    let checked = 0;
    for (const [, label, values] of selected.matchAll(
      /metric\.label\.([a-z_]+)=(?:one_of\(([^)]*)\)|"([^"]*)")/g,
    )) {
      const list = (values ?? "").split(",").map((v) => v.trim().replace(/^\\?"|\\?"$/g, ""));
      for (const v of list.filter(Boolean)) {
        if (label === "end_reason") {
          assert.ok(v in END_REASONS, `${v} is an end reason`);
          checked++;
        }
      }
    }
    assert.equal(checked, 2, "agent_error and internal_error");
    assert.match(selected, /call_successful=\\"success\\"/);
  });
});
