/**
 * `npm run demo`: the whole bridge working end to end on one machine with no phone, no Exotel
 * account and no ElevenLabs credentials, in about 25 seconds:
 *   1. starts the LOCAL TEST AGENT (script mode, private: API key + signed URL, pcm_16000 both ways
 *      like a new ElevenLabs agent, so the bridge resamples 8 kHz <-> 16 kHz);
 *   2. starts the real bridge as a child process (`node --import tsx app/src/main.ts`) pointed at it
 *      through ELEVENLABS_BASE_URL, in a scratch working directory so a developer's `.env` is not read;
 *   3. places a simulated Exotel call at 8 kHz: the caller asks about order 4567
 *      (fixtures/caller-order-status-8k.wav), talks over the agent's answer
 *      (fixtures/caller-barge-in-8k.wav: barge-in), then types 4567# (DTMF); the agent thanks them,
 *      says goodbye and ends the call (end_call);
 *   4. prints the conversation as it happens, a summary, and where the stereo recording and the
 *      JSON report went (default out/, git-ignored), then stops everything it started.
 * Exit code 0 only when the call worked and showed the barge-in and the DTMF reaching the agent.
 * Works headless (no TTY): plain lines. Options: --out DIR, --quiet-bridge.
 *
 * `--transfer [--team NAME]` runs the transfer to a human instead: the caller asks its question, the
 * agent answers, then calls the `transfer_to_human` client tool for the team (default sales); the
 * bridge closes the stream once the agent has finished, and the demo then plays Exotel's next
 * applets against the real bridge, printing each step: Passthru (200 = transfer) and Connect (the
 * numbers Exotel would ring). Exit code 0 only when that whole flow went through.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CallView, formatSummary } from "./lib/call-view.js";
import {
  type CallResult,
  type ExotelCall,
  type FlowResult,
  followFlowAfterStream,
  saveCall,
  startCall,
} from "./lib/exotel-caller.js";
import { type AgentConversation, type LocalAgent, narrate, startLocalAgent } from "./lib/local-agent.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const AGENT_ID = "local-test-agent";
const BRIDGE_START_TIMEOUT_MS = 30_000;
const DEMO_TIMEOUT_MS = 90_000;
/**
 * The bridge and the caller measure response latency the same way from the two ends of the line;
 * they differ by network transit and timer jitter only, which on a loaded machine stays well
 * inside this.
 */
const LATENCY_AGREEMENT_MS = 250;

/** The scripted call: when things happen, ms after Exotel's `start`. */
const SCRIPT = {
  // Right after the 3.7 s greeting.
  question: { wav: join(ROOT, "fixtures/caller-order-status-8k.wav"), atMs: 3800 },
  // About 1 s into the agent's 7 s answer, which starts about 10.6 s.
  bargeIn: { wav: join(ROOT, "fixtures/caller-barge-in-8k.wav"), atMs: 11_600 },
  // While the agent says "go ahead"; it answers the digits when it has finished.
  dtmf: { atMs: 16_200, digits: "4567#" },
  maxDurationMs: 45_000,
};

/** Teams the transfer demo's bridge knows (TRANSFER_NUMBERS); placeholder numbers, never dialled. */
const TRANSFER_TEAMS: Readonly<Record<string, readonly string[]>> = {
  default: ["+918000000001"],
  sales: ["+918000000002", "+918000000003"],
  support: ["+918000000004"],
};
const CALLER = { from: "+919876543210", to: "+918047491899" };

interface Running {
  agent?: LocalAgent;
  bridge?: ChildProcess;
  call?: ExotelCall;
  workDir?: string;
}

const running: Running = {};
const say = (line: string) => process.stdout.write(`${line}\n`);

function parse() {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "out" },
      "quiet-bridge": { type: "boolean" },
      transfer: { type: "boolean" },
      team: { type: "string", default: "sales" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    say("Usage: npm run demo [-- --out DIR] [--quiet-bridge] [--transfer [--team sales|support|default]]");
    process.exit(0);
  }
  const team = String(values.team).toLowerCase();
  if (values.transfer === true && TRANSFER_TEAMS[team] === undefined) {
    say(`--team must be one of ${Object.keys(TRANSFER_TEAMS).join(", ")}`);
    process.exit(2);
  }
  return {
    out: values.out as string,
    quietBridge: values["quiet-bridge"] === true,
    transfer: values.transfer === true ? team : undefined,
  };
}

/** Bridge variables for the transfer demo: teams, and the credential the applets' URLs carry. */
function transferEnv(hookToken: string): NodeJS.ProcessEnv {
  const numbers = Object.entries(TRANSFER_TEAMS)
    .map(([t, nums]) => `${t}=${nums.join("|")}`)
    .join(",");
  return { TRANSFER_NUMBERS: numbers, EXOTEL_WEBHOOK_TOKEN: hookToken };
}

/** Environment for the bridge: only what it needs, so nothing from the developer's shell leaks in. */
function bridgeEnv(agentUrl: string, apiKey: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ["PATH", "HOME", "USER", "LANG", "TMPDIR", "SYSTEMROOT", "NODE_EXTRA_CA_CERTS"]) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  return {
    ...env,
    ELEVENLABS_AGENT_ID: AGENT_ID,
    ELEVENLABS_API_KEY: apiKey,
    ELEVENLABS_BASE_URL: agentUrl,
    PORT: "0",
    BRIDGE_HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    DRAIN_TIMEOUT_MS: "1000",
  };
}

interface BridgeHandle {
  readonly port: number;
  readonly summaries: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
}

/** Starts the bridge and resolves once it logs `listening`; shows its interesting log events. */
function startBridge(
  env: NodeJS.ProcessEnv,
  cwd: string,
  show: (rec: Record<string, unknown>) => void,
): Promise<BridgeHandle> {
  const tsx = import.meta.resolve("tsx");
  const child = spawn(process.execPath, ["--import", tsx, join(ROOT, "app/src/main.ts")], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.bridge = child;
  const summaries: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const stderrLines: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (l) => {
    stderrLines.push(l);
    say(`  bridge stderr: ${l}`);
  });
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`the bridge did not log "listening" within ${BRIDGE_START_TIMEOUT_MS / 1000} s`)),
      BRIDGE_START_TIMEOUT_MS,
    );
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `the bridge exited with code ${code} before listening${stderrLines.length ? `: ${stderrLines.join(" | ")}` : ""}`,
        ),
      );
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        say(`  bridge: ${line}`);
        return;
      }
      if (rec.event === "call_summary") summaries.push(rec);
      if (rec.event === "listening") {
        clearTimeout(timer);
        resolvePort({ port: Number(rec.port), summaries, exited });
      }
      show(rec);
    });
  });
}

/** Turns a bridge log record into a demo line, for the events worth seeing. */
function bridgeLine(rec: Record<string, unknown>): string | undefined {
  const ev = rec.event;
  const msg = String(rec.message ?? "");
  switch (ev) {
    case "listening":
      return `listening on port ${rec.port} (agent auth: ${rec.agent_auth}, agent at ${rec.base_url})`;
    case "call_start":
      return `call started: from ${rec.from} to ${rec.to}, ${rec.sample_rate} Hz`;
    case "agent_connected":
      return `agent connected in ${rec.setup_ms} ms; caller->agent ${rec.caller_to_agent}; agent->caller ${rec.agent_to_caller}`;
    case "interruption":
      // What was queued at Exotel is reported once, by Exotel's side (its clear line): the bridge's
      // own figure for it is an estimate that counts the frame still playing, and two different
      // numbers for one barge-in only confuse. The bridge reports what only it knows.
      return `barge-in: sent clear, dropped ${rec.dropped_buffered_ms} ms of the response not yet sent to Exotel`;
    case "dtmf_to_agent":
      // The digits are logged only with LOG_TRANSCRIPTS=lines; the count always.
      return `DTMF ${rec.digits !== undefined ? `"${rec.digits}"` : `(${rec.count} digits)`} sent to the agent as ${rec.kind}`;
    case "agent_tool":
      return `agent used tool ${rec.tool}`;
    case "call_ending":
      return `call ending: ${msg.replace(/^call ending: /, "")}`;
    case "call_summary":
      return `call summary logged (end_reason ${rec.end_reason}, ended by ${rec.ended_by})`;
    case "transfer_requested":
      return `transfer requested: team ${rec.team ?? "default"}, ${rec.numbers} number(s); the stream closes once the agent has finished`;
    case "exotel_passthru":
      return `Passthru answered ${rec.status} ${rec.branch}`;
    case "exotel_connect":
      return `Connect answered ${rec.numbers} number(s) (${msg.replace(/^Exotel Connect: /, "")})`;
    default: {
      const sev = rec.severity;
      if (sev === "WARNING" || sev === "ERROR" || sev === "CRITICAL")
        return `${String(sev).toLowerCase()}: ${msg} ${ev ? `(${ev})` : ""}`;
      return undefined;
    }
  }
}

/** Prints the local test agent's side of the conversation on the call's clock. */
function narrateAgent(conv: AgentConversation, view: CallView, callT0: () => number): void {
  conv.onEvent((e) => {
    const n = narrate(e, (id) => conv.responseNumber(id));
    if (n === undefined || n.atMs < 0) return;
    view.line(conv.openedAt + n.atMs - callT0(), n.who, n.text);
  });
}

async function stopAll(): Promise<void> {
  const { call, bridge, agent, workDir } = running;
  running.call = undefined;
  running.bridge = undefined;
  running.agent = undefined;
  running.workDir = undefined;
  call?.hangup("demo_stopping");
  if (bridge && bridge.exitCode === null && bridge.signalCode === null) {
    const gone = new Promise<void>((r) => bridge.once("exit", () => r()));
    bridge.kill("SIGTERM");
    const t = setTimeout(() => bridge.kill("SIGKILL"), 4000);
    await gone;
    clearTimeout(t);
  }
  await agent?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}

interface BridgeLatency {
  readonly response_latency_ms?: { readonly count: number; readonly avg: number; readonly max: number };
  readonly time_to_first_audio_ms?: number;
}

/**
 * Response latency and time to first audio as the bridge logged them and as the caller measured
 * them: one definition (README, "Latency"), two vantage points.
 */
function compareLatency(
  r: CallResult["report"],
  bridge: BridgeLatency | undefined,
): {
  lines: string[];
  problems: string[];
} {
  const lines = ['Latency, one definition measured at both ends (README, "Latency"):'];
  const problems: string[] = [];
  const b = bridge?.response_latency_ms;
  const c = r.latency;
  lines.push(
    `  response latency:      bridge ${b ? `avg ${b.avg} ms over ${b.count} turns` : "-"}; ` +
      `caller ${c.avgMs !== null ? `avg ${c.avgMs} ms over ${c.count} turns` : "-"}` +
      (b && c.avgMs !== null ? `; difference ${Math.abs(b.avg - c.avgMs)} ms` : ""),
  );
  const bf = bridge?.time_to_first_audio_ms;
  lines.push(`  time to first audio:   bridge ${bf ?? "-"} ms; caller ${r.firstAgentAudioMs ?? "-"} ms`);
  if (b === undefined || c.avgMs === null) problems.push("response latency missing on one side");
  else if (b.count !== c.count)
    problems.push(`response latency: bridge counted ${b.count} turns, caller ${c.count}`);
  else if (Math.abs(b.avg - c.avgMs) > LATENCY_AGREEMENT_MS)
    problems.push(`response latency disagrees: bridge ${b.avg} ms, caller ${c.avgMs} ms`);
  return { lines, problems };
}

function checkDemo(result: CallResult, conv: AgentConversation | undefined, summaries: unknown[]): string[] {
  const r = result.report;
  const problems = [...r.failures];
  if (r.interruptions.length === 0) problems.push("no barge-in: the bridge never cleared the agent's audio");
  if (r.dtmfSent !== SCRIPT.dtmf.digits) problems.push(`DTMF not all sent (${r.dtmfSent || "none"})`);
  if (!conv?.userMessages.includes("4567")) problems.push('the agent never received the DTMF digits "4567"');
  if (r.end.by !== "bridge") problems.push(`expected the agent to end the call; the ${r.end.by} ended it`);
  if (summaries.length !== 1)
    problems.push(`expected one call_summary from the bridge, saw ${summaries.length}`);
  return problems;
}

/** Exotel's applets after the stream, against the real bridge, each step printed. */
async function playFlow(
  baseUrl: string,
  token: string,
  callSid: string,
  view: CallView,
): Promise<FlowResult> {
  say("Exotel's flow after the Voicebot applet (played by the demo, as Exotel would):");
  const flow = await followFlowAfterStream({ baseUrl, token, callSid, ...CALLER });
  for (const step of flow.steps) {
    if (step.applet === "passthru")
      view.line(
        null,
        "exotel",
        `Passthru  GET ${step.url.replace(baseUrl, "")} -> ${step.status} ${step.body}`,
      );
    else if (step.applet === "connect")
      view.line(
        null,
        "exotel",
        `Connect   GET ${step.url.replace(baseUrl, "")} -> ${step.status} ${JSON.stringify(step.reply)}`,
      );
    else view.line(null, "exotel", `Hangup    ${step.reason}`);
  }
  if (flow.numbers.length > 0)
    view.line(
      null,
      "exotel",
      `Connect rings, in order: ${flow.numbers.join(", ")} (placeholders, never dialled)`,
    );
  return flow;
}

function checkTransfer(
  result: CallResult,
  team: string,
  flow: FlowResult | undefined,
  summaries: Array<Record<string, unknown>>,
): string[] {
  const problems = [...result.report.failures];
  if (result.report.end.by !== "bridge")
    problems.push(
      `expected the bridge to close the stream for the transfer; the ${result.report.end.by} ended it`,
    );
  const endReason = summaries[0]?.end_reason;
  if (endReason !== "agent_transfer")
    problems.push(`the call summary says ${String(endReason)}, not agent_transfer`);
  const pass = flow?.steps.find((s) => s.applet === "passthru");
  if (pass?.status !== 200) problems.push(`Passthru answered ${pass?.status ?? "nothing"}, not 200`);
  const want = (TRANSFER_TEAMS[team] ?? []).join(",");
  if (flow?.numbers.join(",") !== want)
    problems.push(`Connect answered [${flow?.numbers.join(", ") ?? ""}], expected [${want}]`);
  return problems;
}

async function main(): Promise<number> {
  const { out, quietBridge, transfer } = parse();
  const view = new CallView();
  say(
    "exotel-bridge demo: a simulated Exotel call through the real bridge to a LOCAL TEST AGENT (not ElevenLabs).",
  );
  say("No phone, no Exotel account, no ElevenLabs credentials.\n");

  const apiKey = `demo-${Math.random().toString(36).slice(2, 10)}`;
  const agent = await startLocalAgent({
    apiKey,
    agents: [AGENT_ID],
    mode: "script",
    outputFormat: "pcm_16000",
    inputFormat: "pcm_16000",
    ...(transfer === undefined
      ? { endCallAfterReplies: 2 }
      : {
          toolCalls: [
            {
              afterReplies: 1,
              name: "transfer_to_human",
              parameters: { team: transfer, reason: "the caller wants to talk to a person" },
            },
          ],
        }),
  });
  running.agent = agent;
  say(`local test agent: ${agent.url} (private agent: the bridge must fetch a signed URL with the demo key)`);

  running.workDir = mkdtempSync(join(tmpdir(), "exotel-bridge-demo-"));
  const hookToken = randomBytes(18).toString("base64url");
  const env = { ...bridgeEnv(agent.url, apiKey), ...(transfer !== undefined && transferEnv(hookToken)) };
  const bridge = await startBridge(env, running.workDir, (rec) => {
    const line = bridgeLine(rec);
    if (line !== undefined && (!quietBridge || rec.event === "listening")) view.line(null, "bridge", line);
  });
  const url = `ws://127.0.0.1:${bridge.port}/media`;
  say("");

  let conv: AgentConversation | undefined;
  const callSid = `CAdemo${randomBytes(8).toString("hex")}`;
  const call = startCall({
    url,
    sampleRate: 8000,
    callSid,
    ...CALLER,
    customParameters: { order_channel: "demo" },
    audio: transfer === undefined ? [SCRIPT.question, SCRIPT.bargeIn] : [SCRIPT.question],
    dtmf: transfer === undefined ? [SCRIPT.dtmf] : [],
    maxDurationMs: SCRIPT.maxDurationMs,
    onEvent: view.onEvent,
  });
  running.call = call;
  agent.onConversation((c) => {
    conv = c;
    narrateAgent(c, view, () => call.socket?.t0 ?? performance.now());
  });
  view.attach(call);
  const result = await call.result;
  view.detach();
  running.call = undefined;

  // Let the bridge log its call summary before it is stopped.
  const deadline = Date.now() + 3000;
  while (bridge.summaries.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  const summary = bridge.summaries[0];
  let flow: FlowResult | undefined;
  if (transfer !== undefined && result.report.end.by === "bridge") {
    say("");
    flow = await playFlow(`http://127.0.0.1:${bridge.port}`, hookToken, callSid, view);
  }
  const files = saveCall(result, out, transfer === undefined ? "demo-call" : "demo-transfer", {
    demo: {
      agent: conv && {
        note: "local test agent, not ElevenLabs",
        conversationId: conv.id,
        dynamicVariables: (conv.initiation as { dynamic_variables?: unknown } | undefined)?.dynamic_variables,
        userMessages: conv.userMessages,
        // Responses numbered from 1 in the order spoken; a barge-in is one count, with the
        // numbers of the responses it cut (event ids also count transcripts, so they are not shown).
        responses: conv.responses.map((r, i) => ({ number: i + 1, ...r })),
        interruptions: conv.interruptions.length,
        interruptedResponses: conv.interruptions.map((id) => conv?.responseNumber(id) ?? null),
        pongs: conv.pongs.length,
      },
      bridgeSummary: summary,
      ...(flow !== undefined && { flow }),
    },
  });
  say("");
  say(formatSummary(result.report));
  say("");
  const latency = compareLatency(result.report, summary as BridgeLatency | undefined);
  for (const line of latency.lines) say(line);
  say("");
  const problems =
    transfer === undefined
      ? [...checkDemo(result, conv, bridge.summaries), ...latency.problems]
      : checkTransfer(result, transfer, flow, bridge.summaries);
  say(
    `Recording (stereo: caller left, agent right, as heard): ${files.wav ?? "none (the call never connected)"}`,
  );
  say(`Report (JSON): ${files.json}`);
  await stopAll();
  if (problems.length > 0) {
    say(`\nDEMO FAILED:\n  ${problems.join("\n  ")}`);
    return 1;
  }
  say(
    transfer === undefined
      ? "\nDemo OK: greeting, answer, barge-in, DTMF, goodbye and end_call all went through the bridge."
      : `\nDemo OK (transfer): the agent asked for ${transfer}, the bridge closed the stream, Passthru answered 200 and Connect would ring ${flow?.numbers.join(", ")}.`,
  );
  return 0;
}

let stopping = false;
function interrupt(signal: string): void {
  if (stopping) return;
  stopping = true;
  say(`\n${signal}: stopping the call, the bridge and the local test agent`);
  void stopAll().finally(() => process.exit(130));
}
process.once("SIGINT", () => interrupt("SIGINT"));
process.once("SIGTERM", () => interrupt("SIGTERM"));

const watchdog = setTimeout(() => {
  say(`\nDEMO FAILED: did not finish within ${DEMO_TIMEOUT_MS / 1000} s`);
  void stopAll().finally(() => process.exit(1));
}, DEMO_TIMEOUT_MS);
watchdog.unref();

main().then(
  (code) => {
    process.exitCode = code;
    clearTimeout(watchdog);
  },
  (err: unknown) => {
    say(`\nDEMO FAILED: ${(err as Error)?.message ?? err}`);
    void stopAll().finally(() => process.exit(1));
  },
);
