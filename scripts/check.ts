/**
 * `npm run check`: tries the ElevenLabs settings the bridge would use, before the first real call.
 * Reads the same configuration as `npm start` (environment, then `.env`), fetches a signed URL when
 * an API key is set, opens a conversation the way a call does (same initiation frame, overrides
 * included), reads the agent's audio formats, and closes it. Prints region, agent, formats and, for
 * each Exotel sample rate, whether audio passes through untouched or is converted.
 *
 * Exit codes: 0 the agent answered; 1 it did not (the reason is printed); 78 bad configuration.
 * A real check opens a real conversation: it shows in the agent's history, lasting about two seconds.
 * Uses the bridge's own modules (signed-url, hosts, frames, parse, formats) so it tests the code
 * path calls take.
 */
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { WebSocket } from "ws";
import {
  type AudioFormat,
  EXOTEL_SAMPLE_RATES,
  exotelFormat,
  formatName,
  parseAgentFormat,
  sameFormat,
} from "../app/src/audio/formats.js";
import { AgentConnectError } from "../app/src/call-endings.js";
import { type Config, ConfigError, loadConfig } from "../app/src/config.js";
import { initiationFrame, pongFrame } from "../app/src/elevenlabs/frames.js";
import { agentEndpoints, publicConversationUrl } from "../app/src/elevenlabs/hosts.js";
import { parseAgentMessage } from "../app/src/elevenlabs/parse.js";
import { fetchSignedUrl } from "../app/src/elevenlabs/signed-url.js";

const EXIT_FAILED = 1;
const EXIT_CONFIG = 78;

export interface CheckOptions {
  /** Whole check budget (signed URL, handshake, metadata). Default: AGENT_CONNECT_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** After metadata, how long to wait for a close (the service may refuse overrides right after it). */
  readonly settleMs?: number;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly lines: readonly string[];
  readonly warnings: readonly string[];
  /** Why the check failed, in one sentence an operator can act on. */
  readonly problem?: string;
}

/** What the caller-to-agent and agent-to-caller legs do at one Exotel rate. */
export function audioPath(exotelRate: number, agentIn: AudioFormat, agentOut: AudioFormat): string {
  const exotel = exotelFormat(exotelRate as (typeof EXOTEL_SAMPLE_RATES)[number]);
  const leg = (from: AudioFormat, to: AudioFormat) =>
    sameFormat(from, to)
      ? "passes through"
      : from.sampleRate === to.sampleRate
        ? `converted ${formatName(from)} -> ${formatName(to)}`
        : `resampled ${formatName(from)} -> ${formatName(to)}`;
  if (sameFormat(agentIn, agentOut)) {
    if (sameFormat(exotel, agentIn)) return "passes through both ways";
    const verb = exotel.sampleRate === agentIn.sampleRate ? "converted" : "resampled";
    return `${verb} both ways (${formatName(exotel)} <-> ${formatName(agentIn)})`;
  }
  return `caller->agent ${leg(exotel, agentIn)}; agent->caller ${leg(agentOut, exotel)}`;
}

/** One aligned `label  value` line of the report. */
function field(label: string, value: string): string {
  return `${label.padEnd(13)}${value}`;
}

/** Warnings about values that are valid but probably not what was meant. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const id = config.agent.defaultAgentId;
  const key = config.agent.apiKey;
  if (/^sk_/.test(id) || (key !== undefined && id === key))
    warnings.push(
      "ELEVENLABS_AGENT_ID looks like an API key (sk_...): the agent id is on the agent's page, e.g. agent_...",
    );
  if (key !== undefined && /^agent_/.test(key))
    warnings.push("ELEVENLABS_API_KEY looks like an agent id (agent_...): the API key starts with sk_");
  if (key === undefined)
    warnings.push(
      "no ELEVENLABS_API_KEY: the agent must be public, and anyone who knows its id can talk to it",
    );
  return warnings;
}

function connectProblem(err: AgentConnectError, config: Config): string {
  switch (err.kind) {
    case "auth":
      return `ElevenLabs refused the API key (HTTP ${err.status}): check ELEVENLABS_API_KEY`;
    case "agent_not_found":
      return `agent ${config.agent.defaultAgentId} was not found in region ${config.agent.region} (HTTP ${err.status}): check ELEVENLABS_AGENT_ID and ELEVENLABS_REGION (an agent lives in one region)`;
    case "rate_limited":
      return "ElevenLabs answered 429: concurrency or rate limit reached; try again";
    default:
      return err.message;
  }
}

function upgradeProblem(status: number, config: Config): string {
  if (status === 401 || status === 403)
    return config.agent.apiKey === undefined
      ? `the agent refused a public connection (HTTP ${status}): it is private, set ELEVENLABS_API_KEY`
      : `the agent refused the signed URL (HTTP ${status})`;
  if (status === 404)
    return `agent ${config.agent.defaultAgentId} was not found in region ${config.agent.region} (HTTP 404): check ELEVENLABS_AGENT_ID and ELEVENLABS_REGION`;
  return `the conversation socket was refused with HTTP ${status}`;
}

function closeProblem(code: number, reason: string, error: string | undefined, config: Config): string {
  const said = [error, reason].filter(Boolean).join("; ") || "no reason given";
  const overrides = Object.keys(config.agent.overrides);
  if (code === 1008 && /variable/i.test(said))
    return `the agent needs dynamic variables the check does not send (${said}): calls must supply them as custom parameters or through the routing table`;
  if (code === 1008 && (overrides.length > 0 || /override/i.test(said)))
    return `the agent refused the conversation overrides (${said}): enable ${overrides.map(overrideName).join(", ") || "the overrides"} in the agent's Security tab, or unset the ELEVENLABS_* override variables`;
  return `the agent closed the conversation (${code}: ${said})`;
}

function overrideName(key: string): string {
  return (
    { firstMessage: "First message", language: "Language", prompt: "System prompt", voiceId: "Voice" }[key] ??
    key
  );
}

/** Runs the check against `config`; never throws. */
export async function runCheck(config: Config, options: CheckOptions = {}): Promise<CheckReport> {
  const lines: string[] = [];
  const warnings = configWarnings(config);
  const endpoints = agentEndpoints(config.agent.region, config.agent.baseUrl);
  const timeoutMs = options.timeoutMs ?? config.limits.agentConnectTimeoutMs;
  const settleMs = options.settleMs ?? 1500;
  const started = performance.now();
  lines.push(field("region", `${config.agent.region} (${endpoints.restBase})`));
  lines.push(field("agent", config.agent.defaultAgentId));
  const auth = config.agent.apiKey === undefined ? "none (public agent)" : "API key -> signed URL per call";
  lines.push(field("auth", auth));
  const overrides = Object.keys(config.agent.overrides);
  lines.push(field("overrides", overrides.length > 0 ? overrides.map(overrideName).join(", ") : "none"));
  const fail = (problem: string): CheckReport => ({ ok: false, lines, warnings, problem });

  let url: string;
  if (config.agent.apiKey !== undefined) {
    try {
      url = await fetchSignedUrl({
        endpoints,
        agentId: config.agent.defaultAgentId,
        apiKey: config.agent.apiKey,
        timeoutMs,
      });
      lines.push(field("signed URL", `ok (${Math.round(performance.now() - started)} ms)`));
    } catch (err) {
      return fail(err instanceof AgentConnectError ? connectProblem(err, config) : String(err));
    }
  } else {
    url = publicConversationUrl(endpoints, config.agent.defaultAgentId);
  }

  const left = Math.max(500, timeoutMs - (performance.now() - started));
  const outcome = await converse(url, config, left, settleMs);
  if ("status" in outcome) return fail(upgradeProblem(outcome.status, config));
  if ("network" in outcome) return fail(outcome.network);
  const { metadata, close, error } = outcome;
  if (metadata === undefined) {
    if (close === undefined) return fail(`no conversation metadata within ${timeoutMs} ms`);
    return fail(closeProblem(close.code, close.reason, error, config));
  }
  const input = parseAgentFormat(metadata.input);
  const output = parseAgentFormat(metadata.output);
  lines.push(
    field("conversation", `${metadata.conversationId} (${Math.round(metadata.atMs)} ms to metadata)`),
  );
  lines.push(
    field("formats", `agent hears ${metadata.input || "?"}, agent speaks ${metadata.output || "?"}`),
  );
  if (close !== undefined) return fail(closeProblem(close.code, close.reason, error, config));
  if (input === undefined || output === undefined)
    return fail(
      `the agent announced audio formats the bridge does not know (${metadata.input}, ${metadata.output})`,
    );
  for (const rate of EXOTEL_SAMPLE_RATES)
    lines.push(field(`exotel ${String(rate / 1000).padStart(2)}k`, audioPath(rate, input, output)));
  const through = EXOTEL_SAMPLE_RATES.filter(
    (r) => sameFormat(input, exotelFormat(r)) && sameFormat(output, exotelFormat(r)),
  );
  lines.push(
    field(
      "passthrough",
      through.length > 0
        ? `with ${through.map((r) => (r === 8000 ? "Exotel's default 8 kHz" : `?sample-rate=${r}`)).join(" or ")} in the applet URL`
        : "at no Exotel rate: every call converts audio (fine, costs some CPU); pcm_8000, pcm_16000 or pcm_24000 both ways would pass through",
    ),
  );
  return { ok: true, lines, warnings };
}

interface Conversation {
  metadata?: { conversationId: string; input: string; output: string; atMs: number };
  close?: { code: number; reason: string };
  error?: string;
}

/** Opens the conversation like a call, waits for metadata and `settleMs` more, then closes it. */
function converse(
  url: string,
  config: Config,
  timeoutMs: number,
  settleMs: number,
): Promise<Conversation | { status: number } | { network: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const result: Conversation = {};
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      maxPayload: config.limits.agentMaxMessageBytes,
    });
    let settled = false;
    const finish = (value: Conversation | { status: number } | { network: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(settle);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        ws.once("error", () => {});
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, "check done");
        else ws.terminate();
      }
      resolve(value);
    };
    const deadline = setTimeout(() => finish(result), timeoutMs);
    let settle: NodeJS.Timeout | undefined;
    ws.on("unexpected-response", (_req, res) => {
      res.resume();
      finish({ status: res.statusCode ?? 0 });
    });
    ws.on("error", (err) => finish({ network: `could not open the conversation: ${err.message}` }));
    ws.on("open", () => {
      // The same first frame a call sends, with placeholder values for the variables a call always has.
      ws.send(
        initiationFrame(
          {
            caller_number: "+910000000000",
            called_number: "+910000000000",
            call_sid: "check",
            stream_sid: "check",
          },
          config.agent.overrides,
        ),
      );
    });
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const parsed = parseAgentMessage(data.toString());
      if (!parsed.ok) return;
      const e = parsed.event;
      if (e.type === "metadata" && result.metadata === undefined) {
        result.metadata = {
          conversationId: e.conversationId,
          input: e.userInputAudioFormat,
          output: e.agentOutputAudioFormat,
          atMs: performance.now() - started,
        };
        settle = setTimeout(() => finish(result), settleMs);
      } else if (e.type === "ping") {
        ws.send(pongFrame(e.eventId));
      } else if (e.type === "error") {
        result.error = [e.errorType, e.message].filter(Boolean).join(": ");
      }
    });
    ws.on("close", (code, reason) => {
      result.close = { code, reason: reason.toString() };
      finish(result);
    });
  });
}

export function formatReport(report: CheckReport): string {
  const out = [...report.lines];
  for (const w of report.warnings) out.push(field("warning", w));
  out.push(report.ok ? field("ok", "calls will reach this agent") : field("FAILED", report.problem ?? ""));
  return `${out.join("\n")}\n`;
}

async function main(): Promise<number> {
  let config: Config;
  try {
    if (existsSync(".env")) process.loadEnvFile(".env");
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`check: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  const report = await runCheck(config);
  process.stdout.write(formatReport(report));
  return report.ok ? 0 : EXIT_FAILED;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => process.exit(code));
}
