/**
 * Test harness: the real bridge in-process on a free port, pointed at a local test agent, with its
 * pino output captured as parsed JSON lines (the same lines production writes to stdout).
 */
import { Writable } from "node:stream";
import type { CallHooks } from "../../app/src/call/hooks.js";
import type { ClientToolRegistry } from "../../app/src/call/tools.js";
import { loadConfig } from "../../app/src/config.js";
import { createLogger } from "../../app/src/log.js";
import { Bridge } from "../../app/src/server.js";
import { type LocalAgent, type LocalAgentOptions, startLocalAgent } from "../../scripts/lib/local-agent.js";

export type LogLine = Record<string, unknown> & { event?: string; message?: string; severity?: string };

export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  private waiters: Array<() => void> = [];

  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text.trim() === "") continue;
        this.raw.push(text);
        this.lines.push(JSON.parse(text) as LogLine);
      }
      for (const w of this.waiters.splice(0)) w();
      done();
    },
  });

  /** Adapter for pino (it needs a synchronous write()). */
  readonly destination = {
    write: (s: string) => {
      this.stream.write(s);
    },
  };

  events(name: string): LogLine[] {
    return this.lines.filter((l) => l.event === name);
  }

  async waitFor(
    predicate: (lines: LogLine[]) => boolean,
    timeoutMs = 5000,
    what = "log line",
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.lines)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async summary(timeoutMs = 5000): Promise<LogLine> {
    await this.waitFor((l) => l.some((x) => x.event === "call_summary"), timeoutMs, "call_summary");
    return this.events("call_summary")[0] as LogLine;
  }
}

/** Every test bridge has an admin credential, so tests read /metrics and /health/details as an operator would. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const ADMIN_HEADERS = { authorization: `Bearer ${ADMIN_TOKEN}` } as const;

export interface TestBridge {
  readonly bridge: Bridge;
  readonly url: string;
  readonly http: string;
  readonly logs: LogCapture;
  close(): Promise<void>;
}

export async function startBridge(
  env: Record<string, string>,
  options: { hooks?: CallHooks; tools?: ClientToolRegistry; level?: string } = {},
): Promise<TestBridge> {
  const logs = new LogCapture();
  const config = loadConfig({ LOG_LEVEL: options.level ?? "debug", ADMIN_TOKEN, ...env });
  const log = createLogger(config.log.level, logs.destination, { privacy: config.privacy });
  const bridge = new Bridge({
    config,
    log,
    ...(options.hooks && { hooks: options.hooks }),
    ...(options.tools && { tools: options.tools }),
  });
  const addr = await bridge.listen(0, "127.0.0.1");
  return {
    bridge,
    url: `ws://127.0.0.1:${addr.port}/media`,
    http: `http://127.0.0.1:${addr.port}`,
    logs,
    close: () => bridge.close(),
  };
}

export interface Rig {
  readonly agent: LocalAgent;
  readonly bridge: TestBridge;
  close(): Promise<void>;
}

export const API_KEY = "test-xi-key-0123456789";

/** A local test agent (signed-URL mode) plus a bridge pointed at it. */
export async function startRig(
  agentOptions: LocalAgentOptions = {},
  env: Record<string, string> = {},
  options: { hooks?: CallHooks; tools?: ClientToolRegistry; level?: string } = {},
): Promise<Rig> {
  const agent = await startLocalAgent({
    apiKey: API_KEY,
    mode: "manual",
    pingIntervalMs: 0,
    ...agentOptions,
  });
  const bridge = await startBridge(
    {
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      ELEVENLABS_API_KEY: API_KEY,
      ELEVENLABS_BASE_URL: agent.url,
      ...env,
    },
    options,
  );
  return {
    agent,
    bridge,
    close: async () => {
      await bridge.close();
      await agent.close();
    },
  };
}
