/**
 * Process entry point: config (env, plus `.env` when present), logger, bridge, signals.
 * A bad configuration stops the process with one line naming every problem (exit 78, EX_CONFIG).
 */
import { existsSync } from "node:fs";
import { CallLogWriter } from "./call/call-log.js";
import { ConfigError, loadConfig } from "./config.js";
import { buildControl } from "./control/index.js";
import { createLogger, logDestination } from "./log.js";
import { Bridge, VERSION } from "./server.js";

const EXIT_CONFIG = 78;

/** Runs `fn`; a ConfigError stops the process with its one line. */
function orExit<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`exotel-bridge: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}

function readConfig() {
  if (existsSync(".env")) process.loadEnvFile(".env");
  return orExit(() => loadConfig(process.env));
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger(config.log.level, await logDestination(config.logFormat), {
    privacy: config.privacy,
  });
  const callLog = config.log.callLogDir ? new CallLogWriter(config.log.callLogDir, log) : undefined;
  // Transfer, outbound calls, routing table (validated here), recordings, shared state.
  const control = orExit(() =>
    buildControl({ config, log, onEnded: callLog ? [(s) => callLog.write(s)] : [] }),
  );
  const bridge = new Bridge({
    config,
    log,
    hooks: control.hooks,
    tools: control.tools,
    routes: control.routes,
  });

  process.on("unhandledRejection", (reason) => {
    log.error({ event: "unhandled_rejection", err: reason }, "unhandled promise rejection");
  });
  process.on("uncaughtException", (err) => {
    log.fatal({ event: "uncaught_exception", err }, "uncaught exception; exiting");
    log.flush(() => process.exit(1));
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: "signal", signal }, `${signal}: draining live calls`);
    bridge
      .drain()
      .catch((err) => log.error({ event: "drain_error", err }, "drain failed"))
      // After the drain: the last calls' outcomes are written before the store closes.
      .then(() => control.close())
      .catch((err) => log.error({ event: "control_close_error", err }, "closing the state store failed"))
      .finally(() => log.flush(() => process.exit(0)));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  const address = await bridge.listen().catch((err: NodeJS.ErrnoException) => {
    const problem = listenProblem(err, config.port, config.host);
    if (problem === undefined) throw err;
    process.stderr.write(`exotel-bridge: ${problem}\n`);
    process.exit(EXIT_CONFIG);
  });
  log.info(
    {
      event: "listening",
      port: address.port,
      host: address.address,
      version: VERSION,
      agent_id: config.agent.defaultAgentId,
      agent_auth: config.agent.apiKey ? "signed_url" : "public_agent",
      region: config.agent.region,
      base_url: config.agent.baseUrl,
      exotel_basic_auth: config.exotel.basicAuth !== undefined,
      max_concurrent_calls: config.limits.maxConcurrentCalls,
      admin_token: config.access.adminToken !== undefined,
      log_caller_numbers: config.privacy.callerNumbers,
      log_transcripts: config.privacy.transcripts,
    },
    `exotel-bridge listening on ${address.address}:${address.port} (Exotel stream path /media)`,
  );
}

/** Listen failures that are configuration problems (exit 78 like the others), in one line. */
export function listenProblem(err: NodeJS.ErrnoException, port: number, host: string): string | undefined {
  switch (err.code) {
    case "EADDRINUSE":
      return `port ${port} on ${host} is already in use (another bridge running? set PORT or BRIDGE_PORT)`;
    case "EACCES":
      return `no permission to listen on port ${port} (ports below 1024 need privileges; set PORT or BRIDGE_PORT)`;
    case "EADDRNOTAVAIL":
      return `BRIDGE_HOST ${host} is not an address of this machine`;
    default:
      return undefined;
  }
}

main().catch((err) => {
  process.stderr.write(`exotel-bridge: failed to start: ${(err as Error)?.message ?? err}\n`);
  process.exit(1);
});
