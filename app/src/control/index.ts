/**
 * Call control, assembled in one place from the configuration: the CallHooks, the client tools
 * and the HTTP routes the Bridge takes, plus the state store they share.
 *
 *   const control = buildControl({ config, log });
 *   const bridge = new Bridge({ config, log, hooks: control.hooks, tools: control.tools, routes: control.routes });
 *   ...
 *   await control.close();
 *
 * Throws ConfigError (one line naming the problem) when the routing table is invalid.
 */
import type express from "express";
import type { CallSummary } from "../call/summary.js";
import { ClientToolRegistry } from "../call/tools.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { registerCustomTools } from "./custom-tools.js";
import { ControlHooks } from "./hooks.js";
import { OutboundMetrics } from "./outbound/status.js";
import { GcsUploader } from "./recording/gcs.js";
import { Recorder } from "./recording/recorder.js";
import { controlRoutes } from "./routes.js";
import { RoutingTable } from "./routing/table.js";
import { CallRecords } from "./state/call-records.js";
import { RedisStore } from "./state/redis-store.js";
import { MemoryStore, type StateStore } from "./state/store.js";
import { transferTool } from "./transfer/tool.js";

export interface ControlOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Default: Redis when REDIS_URL is set, else in-process memory. */
  readonly store?: StateStore;
  /** Register your own client tools on it (see docs/call-control.md); default: a new registry. */
  readonly tools?: ClientToolRegistry;
  /** Also run on every call summary (call log files...). */
  readonly onEnded?: ReadonlyArray<(summary: CallSummary) => void>;
  /** Routing table already loaded (tests); default: ROUTING_TABLE_FILE or ROUTING_TABLE. */
  readonly routing?: RoutingTable;
}

export interface Control {
  readonly hooks: ControlHooks;
  readonly tools: ClientToolRegistry;
  readonly routes: (app: express.Express, metrics?: Metrics) => void;
  readonly store: StateStore;
  readonly records: CallRecords;
  readonly routing: RoutingTable;
  close(): Promise<void>;
}

export function buildControl(options: ControlOptions): Control {
  const { config, log } = options;
  const c = config.control;
  const routing =
    options.routing ??
    (c.routing.file !== undefined
      ? RoutingTable.load(c.routing.file, c.routing.timezone)
      : c.routing.inline !== undefined
        ? RoutingTable.inline(c.routing.inline, c.routing.timezone)
        : RoutingTable.empty(c.routing.timezone));
  const store =
    options.store ??
    (c.state.redisUrl !== undefined
      ? new RedisStore({
          url: c.state.redisUrl,
          keyPrefix: c.state.keyPrefix,
          log,
          ...(c.state.redisCaCert !== undefined && { caCert: c.state.redisCaCert }),
        })
      : new MemoryStore());
  const local = store.kind === "memory" ? undefined : new MemoryStore();
  const records = new CallRecords(store, c.state.ttlMs, c.state.timeoutMs, local);
  const recorder =
    c.recordings === undefined
      ? undefined
      : new Recorder({
          dir: c.recordings.dir,
          prefix: c.recordings.prefix,
          keepLocal: c.recordings.keepLocal,
          log,
          uploader:
            c.recordings.bucket === undefined
              ? undefined
              : new GcsUploader({
                  bucket: c.recordings.bucket,
                  storageUrl: c.recordings.storageUrl,
                  metadataHost: c.recordings.metadataHost,
                }),
        });
  const hooks = new ControlHooks({
    config,
    log,
    state: records,
    routing,
    recorder,
    onEnded: options.onEnded ?? [],
  });
  const tools = options.tools ?? new ClientToolRegistry(c.toolTimeoutMs);
  registerCustomTools(tools, { config, log });
  tools.register(
    c.transfer.toolName,
    transferTool({ config: c.transfer, records, destinationsFor: hooks.destinationsFor }),
  );
  const outboundMetrics = new OutboundMetrics();
  const router = controlRoutes({ config, log, records, routing, outboundMetrics });

  log.info(
    {
      event: "call_control",
      state_store: store.kind,
      routes: routing.routes.length,
      transfer_tool: c.transfer.toolName,
      transfer_teams: Object.keys(c.transfer.numbers),
      outbound: c.outbound === undefined ? "off" : c.outbound.appId !== undefined ? "flow" : "stream",
      dynamic_url: c.publicBaseUrl !== undefined,
      recordings: c.recordings === undefined ? "off" : c.recordings.bucket !== undefined ? "bucket" : "local",
    },
    "call control ready",
  );
  if (c.outbound?.appId !== undefined && config.exotel.basicAuth === undefined)
    // A stream's call SID is trusted only from an authenticated stream (routing/resolve.ts).
    log.warn(
      { event: "outbound_plan_by_sid_off" },
      "flow-mode outbound calls: without EXOTEL_BASIC_AUTH a stream's call SID cannot name its plan; " +
        "use the dynamic URL (/exotel/stream-url) in the flow's Voicebot applet",
    );

  return {
    hooks,
    tools,
    routes: (app, metrics) => {
      if (metrics !== undefined) outboundMetrics.attach(metrics.registry);
      app.use(router);
    },
    store,
    records,
    routing,
    close: async () => {
      await store.close();
      await local?.close();
    },
  };
}
