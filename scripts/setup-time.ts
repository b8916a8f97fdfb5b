/**
 * Call setup time, measured from the caller's side: how long from dialling the bridge until the
 * agent is connected. Runs the real bridge in-process against the local test agent (signed-URL mode,
 * as production) and places calls one after another, so before/after numbers for a change to call
 * setup come from the same machine and the same path.
 *
 *   npx tsx scripts/setup-time.ts [--calls 40] [--format pcm_16000] [--json]
 *
 * Per call: `handshake` (TCP + WebSocket upgrade), `start->agent` (Exotel `start` sent until the bridge
 * logs `agent_connected`, i.e. signed URL + agent socket + conversation metadata), and `total` (dial to
 * agent connected). Loopback numbers: they measure the bridge's own work and the protocol round trips,
 * not the network to ElevenLabs.
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "../app/src/config.js";
import { createLogger } from "../app/src/log.js";
import { Bridge } from "../app/src/server.js";
import { ExotelSocket } from "./lib/exotel-caller.js";
import { AGENT_AUDIO_FORMATS, type AgentAudioFormat, startLocalAgent } from "./lib/local-agent.js";

export interface SetupSample {
  readonly handshakeMs: number;
  readonly startToAgentMs: number;
  readonly totalMs: number;
}

export interface SetupStats {
  readonly calls: number;
  readonly p50: SetupSample;
  readonly p95: SetupSample;
  readonly max: SetupSample;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

export function summarize(samples: readonly SetupSample[]): SetupStats {
  const at = (q: number): SetupSample => ({
    handshakeMs: quantile(
      samples.map((s) => s.handshakeMs),
      q,
    ),
    startToAgentMs: quantile(
      samples.map((s) => s.startToAgentMs),
      q,
    ),
    totalMs: quantile(
      samples.map((s) => s.totalMs),
      q,
    ),
  });
  return { calls: samples.length, p50: at(0.5), p95: at(0.95), max: at(1) };
}

/** Places `calls` calls one after another and returns one sample per call. */
export async function measureSetup(
  options: { calls?: number; format?: AgentAudioFormat } = {},
): Promise<SetupSample[]> {
  const apiKey = "setup-time-key-0123456789";
  const format = options.format ?? "pcm_16000";
  const agent = await startLocalAgent({
    apiKey,
    mode: "manual",
    pingIntervalMs: 0,
    outputFormat: format,
    inputFormat: format,
  });
  // Lines arrive synchronously from pino: the clock is read the moment `agent_connected` is written.
  const connectedAt = new Map<string, number>();
  const destination = {
    write(line: string) {
      if (!line.includes('"agent_connected"')) return;
      const rec = JSON.parse(line) as { call_sid?: string };
      if (rec.call_sid) connectedAt.set(rec.call_sid, performance.now());
    },
  };
  const config = loadConfig({
    ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
    ELEVENLABS_API_KEY: apiKey,
    ELEVENLABS_BASE_URL: agent.url,
    LOG_LEVEL: "info",
  });
  const bridge = new Bridge({ config, log: createLogger("info", destination) });
  const addr = await bridge.listen(0, "127.0.0.1");
  const url = `ws://127.0.0.1:${addr.port}/media`;
  const samples: SetupSample[] = [];
  try {
    for (let i = 0; i < (options.calls ?? 40); i++) {
      const dialled = performance.now();
      const sock = await ExotelSocket.connect({ url, sampleRate: 8000 });
      const opened = performance.now();
      sock.sendConnected();
      sock.sendStart();
      const started = performance.now();
      const deadline = started + 10_000;
      while (!connectedAt.has(sock.callSid)) {
        if (performance.now() > deadline) throw new Error(`call ${i}: agent not connected within 10 s`);
        await new Promise((r) => setImmediate(r));
      }
      const connected = connectedAt.get(sock.callSid) as number;
      samples.push({
        handshakeMs: opened - dialled,
        startToAgentMs: connected - started,
        totalMs: connected - dialled,
      });
      sock.sendStop();
      sock.close();
      await sock.closed;
      while (bridge.calls.size > 0) await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await bridge.close();
    await agent.close();
  }
  return samples;
}

function row(name: string, s: SetupSample): string {
  const f = (n: number) => n.toFixed(1).padStart(7);
  return `${name.padEnd(4)} ${f(s.handshakeMs)} ${f(s.startToAgentMs)} ${f(s.totalMs)}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      calls: { type: "string", default: "40" },
      format: { type: "string", default: "pcm_16000" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: npx tsx scripts/setup-time.ts [--calls 40] [--format pcm_16000] [--json]\n" +
        "Places calls one after another through the bridge (in-process) to the local test agent and\n" +
        "prints handshake, start->agent-connected and total setup time in ms (p50, p95, max).\n",
    );
    return 0;
  }
  const format = values.format as AgentAudioFormat;
  if (!AGENT_AUDIO_FORMATS.includes(format)) {
    process.stderr.write(`--format must be one of ${AGENT_AUDIO_FORMATS.join(", ")}\n`);
    return 2;
  }
  const samples = await measureSetup({ calls: Number(values.calls), format });
  // The first call warms the WASM resampler and the module caches: reported apart.
  const [first, ...rest] = samples;
  const stats = summarize(rest.length > 0 ? rest : samples);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ first, ...stats })}\n`);
    return 0;
  }
  process.stdout.write(
    `call setup, ${samples.length} calls to the local test agent (${format}), ms\n` +
      "      handshake start->agent  total\n" +
      `${first ? `${row("1st", first)}\n` : ""}` +
      `${row("p50", stats.p50)}\n${row("p95", stats.p95)}\n${row("max", stats.max)}\n`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`setup-time: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
