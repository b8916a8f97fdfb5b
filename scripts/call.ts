/**
 * `npm run call -- <bridge ws url> [options]`: places one simulated Exotel call against a bridge
 * (local `ws://` or deployed `wss://`), shows it live, prints a summary, and writes a stereo WAV
 * (caller left, agent right, as heard) and a JSON report. Exit code 0 when the call worked, 1 when
 * it failed (refused, no agent audio, frame-rule violations, abnormal close), 2 on bad usage.
 * No phone and no Exotel account needed; see scripts/README.md.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { CallView, formatSummary } from "./lib/call-view.js";
import {
  type CallerAudio,
  type DtmfEntry,
  type ExotelCall,
  type ExotelSampleRate,
  saveCall,
  startCall,
} from "./lib/exotel-caller.js";
import { EVENTS_PATH } from "./lib/local-agent.js";

const USAGE = `Usage: npm run call -- <bridge ws url> [options]

Places a simulated Exotel Voicebot call, exactly as Exotel would.

  <bridge ws url>          ws://127.0.0.1:10002/media or wss://key:token@bridge.example.com/media
  --wav FILE[@SECONDS]     caller audio (any rate, converted), starting at SECONDS after start
                           (default: right after the previous one); repeatable.
                           Default: fixtures/caller-order-status-8k.wav@4
  --silence                send only silence (no caller audio)
  --sample-rate HZ         8000 | 16000 | 24000, sent as ?sample-rate= (default 8000)
  --from NUMBER            caller number (default +919876543210)
  --to NUMBER              called number (default +918047491899)
  --param KEY=VALUE        custom parameter (URL query and start.custom_parameters); repeatable
  --dtmf SECONDS:DIGITS    e.g. 5.0:4567# (one digit every 250 ms); repeatable
  --hangup-after SECONDS   caller hangs up then (default: when the bridge closes, or when idle)
  --idle-hangup SECONDS    without --hangup-after: once the caller's audio and DTMF are done, hang up
                           after the agent has been silent this long (default 10; "off" waits
                           for the bridge to close)
  --max-duration SECONDS   safety limit (default 120)
  --basic-auth KEY:TOKEN   HTTP Basic credential (or put it in the URL)
  --frame-ms MS            caller frame length (default 100)
  --camel                  camelCase keys (streamSid...) instead of snake_case
  --numbers                JSON numbers instead of strings for numeric fields
  --mulaw                  stream G.711 mu-law (media_format.encoding audio/x-mulaw;rate=8000; 8000 Hz only)
  --both-tracks            send both tracks: caller frames with media.track "inbound", plus
                           "outbound" frames carrying what the caller hears
  --flat-dtmf              DTMF as {"event":"dtmf","digit":"5"} instead of the nested dtmf object
  --insecure               accept a self-signed certificate on wss://
  --out DIR                where the WAV and JSON go (default out/)
  --name NAME              file name base (default call-<time>)
  --show-marks             print mark and mark-echo lines
  --agent-events URL       also show what a local test agent (npm run agent) says and hears:
                           its http:// origin, e.g. http://127.0.0.1:8765
  -h, --help               this text`;

function fail(msg: string): never {
  process.stderr.write(`call: ${msg}\n\n${USAGE}\n`);
  process.exit(2);
}

function seconds(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`${what} must be a number of seconds, got "${v}"`);
  return n * 1000;
}

function parse() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      wav: { type: "string", multiple: true },
      silence: { type: "boolean" },
      "sample-rate": { type: "string", default: "8000" },
      from: { type: "string" },
      to: { type: "string" },
      param: { type: "string", multiple: true },
      dtmf: { type: "string", multiple: true },
      "hangup-after": { type: "string" },
      "max-duration": { type: "string", default: "120" },
      "idle-hangup": { type: "string", default: "10" },
      "basic-auth": { type: "string" },
      "frame-ms": { type: "string", default: "100" },
      camel: { type: "boolean" },
      numbers: { type: "boolean" },
      mulaw: { type: "boolean" },
      "both-tracks": { type: "boolean" },
      "flat-dtmf": { type: "boolean" },
      insecure: { type: "boolean" },
      out: { type: "string", default: "out" },
      name: { type: "string" },
      "show-marks": { type: "boolean" },
      "agent-events": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const url = positionals[0];
  if (url === undefined || positionals.length > 1) fail("give exactly one bridge URL");
  if (!/^wss?:\/\//.test(url)) fail(`the bridge URL must start with ws:// or wss://, got "${url}"`);
  const rate = Number(values["sample-rate"]);
  if (rate !== 8000 && rate !== 16000 && rate !== 24000) fail("--sample-rate must be 8000, 16000 or 24000");
  if (values.mulaw && rate !== 8000) fail("--mulaw streams at 8000 Hz only");

  const audio: CallerAudio[] = [];
  if (!values.silence) {
    for (const spec of values.wav ?? ["fixtures/caller-order-status-8k.wav@4"]) {
      const at = spec.lastIndexOf("@");
      const file = at > 0 ? spec.slice(0, at) : spec;
      if (!existsSync(file)) fail(`no such WAV file: ${file}`);
      audio.push({ wav: file, ...(at > 0 && { atMs: seconds(spec.slice(at + 1), "--wav @time") }) });
    }
  }
  const customParameters: Record<string, string> = {};
  for (const p of values.param ?? []) {
    const eq = p.indexOf("=");
    if (eq <= 0) fail(`--param must be KEY=VALUE, got "${p}"`);
    customParameters[p.slice(0, eq)] = p.slice(eq + 1);
  }
  const dtmf: DtmfEntry[] = [];
  for (const d of values.dtmf ?? []) {
    const m = /^([\d.]+):([0-9*#]+)$/.exec(d);
    if (!m) fail(`--dtmf must be SECONDS:DIGITS such as 5.0:4567#, got "${d}"`);
    dtmf.push({ atMs: seconds(m[1] as string, "--dtmf time"), digits: m[2] as string });
  }
  const basic = values["basic-auth"];
  if (basic !== undefined && !/^[^:]+:.+$/.test(basic)) fail("--basic-auth must be KEY:TOKEN");
  const events = values["agent-events"];
  if (events !== undefined && !/^https?:\/\//.test(events)) fail("--agent-events must be an http:// origin");
  const frameMs = Number(values["frame-ms"]);
  if (!Number.isInteger(frameMs) || frameMs < 10 || frameMs > 1000) fail("--frame-ms must be 10..1000");
  return { url, rate: rate as ExotelSampleRate, audio, customParameters, dtmf, basic, frameMs, values };
}

/**
 * Follows a local test agent's events feed (server-sent events; not an ElevenLabs API) and prints
 * its lines on the call's clock. Both processes read the same wall clock.
 */
function followAgent(origin: string, call: ExotelCall, view: CallView): AbortController {
  const abort = new AbortController();
  const url = `${origin.replace(/\/+$/, "")}${EVENTS_PATH}`;
  void (async () => {
    try {
      const res = await fetch(url, { signal: abort.signal });
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
      let buf = "";
      for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let end = buf.indexOf("\n\n");
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          end = buf.indexOf("\n\n");
          const data = block.startsWith("data: ") ? block.slice(6) : undefined;
          if (data === undefined) continue;
          const e = JSON.parse(data) as { at: number; who: string; text: string };
          const t0 = call.socket ? performance.timeOrigin + call.socket.t0 : undefined;
          view.line(t0 === undefined ? null : e.at - t0, e.who, e.text);
        }
      }
    } catch (err) {
      if (!abort.signal.aborted)
        view.plain(`(agent events from ${url} unavailable: ${(err as Error).message})`);
    }
  })();
  return abort;
}

async function main(): Promise<void> {
  const { url, rate, audio, customParameters, dtmf, basic, frameMs, values } = parse();
  const view = new CallView({ showMarks: values["show-marks"] === true });
  view.plain(`Simulated Exotel call (no phone, no Exotel account): ${rate} Hz, ${frameMs} ms frames`);
  const call = startCall({
    url,
    sampleRate: rate,
    audio,
    dtmf,
    frameMs,
    customParameters,
    ...(values.from !== undefined && { from: values.from }),
    ...(values.to !== undefined && { to: values.to }),
    ...(basic !== undefined && { basicAuth: basic }),
    ...(values["hangup-after"] !== undefined && {
      hangupAfterMs: seconds(values["hangup-after"], "--hangup-after"),
    }),
    maxDurationMs: seconds(values["max-duration"], "--max-duration"),
    ...(values["idle-hangup"] !== "off" && {
      idleHangupMs: seconds(values["idle-hangup"] as string, "--idle-hangup"),
    }),
    ...(values.camel && { spelling: "camel" as const }),
    ...(values.numbers && { numbers: "number" as const }),
    ...(values.mulaw && { encoding: "mulaw" as const }),
    ...(values["both-tracks"] && { tracks: "both" as const }),
    ...(values["flat-dtmf"] && { dtmfStyle: "flat" as const }),
    ...(values.insecure && { insecure: true }),
    onEvent: view.onEvent,
  });
  view.attach(call);
  const feed =
    values["agent-events"] === undefined ? undefined : followAgent(values["agent-events"], call, view);
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    view.plain("Ctrl-C: hanging up");
    call.hangup("ctrl_c");
  });
  const result = await call.result;
  // Let the agent's last lines (end_call, close) arrive before the view stops.
  if (feed) await new Promise((r) => setTimeout(r, 200));
  feed?.abort();
  view.detach();
  const base = values.name ?? `call-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const files = saveCall(result, values.out as string, base);
  process.stdout.write(`\n${formatSummary(result.report)}\n\n`);
  process.stdout.write(
    files.wav === undefined
      ? `No recording (the call never connected)\nReport: ${files.json}\n`
      : `Recording (caller left, agent right): ${files.wav}\nReport: ${files.json}\n`,
  );
  process.exitCode = interrupted ? 130 : result.report.ok ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`call: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
