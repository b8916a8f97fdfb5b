/** What a Call needs from the server, built for tests that construct a Call themselves. */
import type { CallDeps } from "../../../app/src/call/call.js";
import { Ticker } from "../../../app/src/call/ticker.js";
import { ClientToolRegistry } from "../../../app/src/call/tools.js";
import type { Config } from "../../../app/src/config.js";
import { agentEndpoints } from "../../../app/src/elevenlabs/hosts.js";
import { createLogger, LogRateLimiter } from "../../../app/src/log.js";
import { createMetrics } from "../../../app/src/metrics.js";
import type { LogCapture } from "../../support/bridge.js";

export function callDeps(
  config: Config,
  logs: LogCapture,
  rest: Pick<CallDeps, "onClosed" | "hooks"> & Partial<CallDeps>,
): CallDeps {
  return {
    config,
    endpoints: agentEndpoints(config.agent.region, config.agent.baseUrl),
    log: createLogger("debug", logs.destination, { privacy: config.privacy }),
    metrics: createMetrics({ defaultMetrics: false }),
    ticker: new Ticker(20),
    tools: new ClientToolRegistry(),
    badFrameLog: new LogRateLimiter(100),
    now: () => performance.now(),
    ...rest,
  };
}
