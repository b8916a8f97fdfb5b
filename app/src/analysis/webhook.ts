/**
 * POST /webhooks/elevenlabs/post-call: ElevenLabs' post-call webhook. The raw body (capped) is
 * verified against the `ElevenLabs-Signature` HMAC before anything is parsed; a missing, malformed,
 * stale or wrong signature gets a bare 401. A verified `post_call_transcription` becomes one
 * `call_analysis` log record joined to the Exotel call_sid. Every request is counted by result in
 * `exotel_bridge_post_call_webhooks_total`; refusals are also logged (rate-limited) as
 * `post_call_webhook_refused`, which the stack's log-based metric counts.
 */
import express from "express";
import { Counter, type Registry } from "prom-client";
import type { CallHooks } from "../call/hooks.js";
import type { AnalysisConfig } from "../config/analysis.js";
import { type Logger, LogRateLimiter } from "../log.js";
import { ConversationIndex, ExpiringMap } from "./conversations.js";
import {
  ANALYSIS_TYPE,
  buildCallAnalysis,
  type CallSidSource,
  callSidFromWebhook,
  parseWebhook,
} from "./payload.js";
import { SIGNATURE_HEADER, type SignatureRefusal, verifySignature } from "./signature.js";

export const POST_CALL_WEBHOOK_PATH = "/webhooks/elevenlabs/post-call";
const WEBHOOKS_METRIC = "exotel_bridge_post_call_webhooks_total";

export type WebhookResult =
  | "accepted"
  | "duplicate"
  | "ignored"
  | SignatureRefusal
  | "too_large"
  | "malformed";

const STATUS: Readonly<Record<Exclude<WebhookResult, "accepted" | "duplicate" | "ignored">, number>> = {
  missing_signature: 401,
  malformed_signature: 401,
  stale: 401,
  bad_signature: 401,
  too_large: 413,
  malformed: 400,
};

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "ok",
  400: "Bad Request",
  401: "Unauthorized",
  413: "Payload Too Large",
};

export interface PostCallAnalysisDeps {
  readonly config: AnalysisConfig;
  readonly log: Logger;
  /** The bridge's Prometheus registry (served on /metrics). */
  readonly registry: Registry;
  readonly now?: () => number;
}

export class PostCallAnalysis {
  /** Filled when calls end on this instance (see `withHooks`). */
  readonly conversations: ConversationIndex;
  /** Conversations already logged: ElevenLabs retries, and a valid request can be replayed. */
  private readonly logged: ExpiringMap<true>;
  private readonly counter: Counter<"result">;
  private readonly refusalLog = new LogRateLimiter(5, 20);
  private readonly now: () => number;

  constructor(private readonly deps: PostCallAnalysisDeps) {
    const c = deps.config;
    this.now = deps.now ?? Date.now;
    this.conversations = new ConversationIndex(c.joinTtlMs, c.joinMaxEntries, this.now);
    // Twice the signature tolerance: a replay of a logged body is refused as stale after that.
    this.logged = new ExpiringMap(2 * c.toleranceS * 1000, c.joinMaxEntries, this.now);
    // One counter per registry: a second bridge on the same registry (tests) shares it.
    this.counter =
      (deps.registry.getSingleMetric(WEBHOOKS_METRIC) as Counter<"result"> | undefined) ??
      new Counter({
        name: WEBHOOKS_METRIC,
        help: "ElevenLabs post-call webhooks, by result (accepted, duplicate, ignored, or why refused)",
        labelNames: ["result"] as const,
        registers: [deps.registry],
      });
  }

  get enabled(): boolean {
    return this.deps.config.webhookSecret !== undefined;
  }

  /** Mounts the route when a webhook secret is configured; without one the path stays a 404. */
  mount(app: express.Express): void {
    if (!this.enabled) return;
    app.post(
      POST_CALL_WEBHOOK_PATH,
      express.raw({ type: () => true, limit: this.deps.config.maxBodyBytes }),
      (req: express.Request, res: express.Response) => {
        const result = this.handle(
          Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          req.get(SIGNATURE_HEADER),
        );
        this.answer(res, result);
      },
      (err: { type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        this.answer(res, err.type === "entity.too.large" ? "too_large" : "malformed");
      },
    );
  }

  /** The bridge's hooks plus an `ended` listener that remembers conversation_id -> call_sid. */
  withHooks(hooks: CallHooks): CallHooks {
    if (!this.enabled) return hooks;
    const ended = hooks.ended?.bind(hooks);
    const remember = this.conversations.onCallEnded;
    // Own properties, not a spread: ControlHooks defines its hooks as instance fields, and a
    // class with prototype methods must keep its `this`.
    const composed: CallHooks = {
      ended: (summary) => {
        remember(summary);
        ended?.(summary);
      },
    };
    if (hooks.plan) composed.plan = hooks.plan.bind(hooks);
    if (hooks.tap) composed.tap = hooks.tap.bind(hooks);
    if (hooks.closing) composed.closing = hooks.closing.bind(hooks);
    return composed;
  }

  /** Verifies, parses and logs one delivery; returns what happened. */
  handle(raw: Buffer, signature: string | undefined): WebhookResult {
    const secret = this.deps.config.webhookSecret;
    if (secret === undefined) return "bad_signature";
    const verdict = verifySignature(raw, signature, secret, this.now(), this.deps.config.toleranceS);
    if (!verdict.ok) return verdict.reason;
    const parsed = parseWebhook(raw);
    if (!parsed.ok) return parsed.reason;
    const w = parsed.webhook;
    if (w.type !== ANALYSIS_TYPE) return "ignored";
    const conversationId = w.data.conversation_id;
    if (this.logged.get(conversationId) !== undefined) return "duplicate";
    this.logged.set(conversationId, true);
    const fromWebhook = callSidFromWebhook(w);
    const local = fromWebhook === undefined ? this.conversations.callSidFor(conversationId) : undefined;
    const join: { callSid: string; source: CallSidSource } | undefined =
      fromWebhook !== undefined
        ? { callSid: fromWebhook, source: "dynamic_variables" }
        : local !== undefined
          ? { callSid: local, source: "this_instance" }
          : undefined;
    const record = buildCallAnalysis(w, join);
    const labels: Record<string, string> = { conversation_id: conversationId };
    if (join) labels.call_sid = join.callSid;
    this.deps.log.info({ ...record, "logging.googleapis.com/labels": labels }, "call analysis");
    return "accepted";
  }

  private answer(res: express.Response, result: WebhookResult): void {
    this.counter.labels(result).inc();
    const status =
      result === "accepted" || result === "duplicate" || result === "ignored" ? 200 : STATUS[result];
    if (status !== 200 && this.refusalLog.allow()) {
      this.deps.log.warn(
        { event: "post_call_webhook_refused", reason: result, status },
        "refused a post-call webhook",
      );
    }
    // Refusals carry no detail: the reason is in our log and metric, not in the answer.
    res
      .status(status)
      .type("text/plain")
      .send(STATUS_TEXT[status] ?? "");
  }
}
