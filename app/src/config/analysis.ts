/**
 * Environment variables of the post-call analysis webhook: a zod shape merged into the bridge's
 * one schema in ../config.ts and the builder of the frozen `config.analysis` section.
 */
import type { z } from "zod";
import { intVar, optionalString } from "./env-schema.js";

export interface AnalysisConfig {
  /** ElevenLabs' webhook signing secret; unset = the route is not mounted (404). */
  readonly webhookSecret: string | undefined;
  /** Bodies larger than this are refused (413) before they are read in full. */
  readonly maxBodyBytes: number;
  /** A signature older (or further in the future) than this is refused as stale. */
  readonly toleranceS: number;
  /** How long a finished call's conversation_id -> call_sid pair is kept for the join. */
  readonly joinTtlMs: number;
  /** At most this many pairs are kept (oldest dropped first). */
  readonly joinMaxEntries: number;
}

export const ANALYSIS_ENV = {
  ELEVENLABS_WEBHOOK_SECRET: optionalString((v) =>
    /\s/.test(v) ? "must not contain whitespace" : undefined,
  ),
  // 2 MiB: a transcription webhook of an hour-long call is a few hundred KB; audio webhooks
  // (base64 of the whole call) are larger on purpose and are not wanted here.
  POST_CALL_WEBHOOK_MAX_BYTES: intVar(16 * 1024, 32 * 1024 * 1024, 2 * 1024 * 1024, " bytes"),
  // 30 minutes: the tolerance ElevenLabs' own SDK applies (elevenlabs-js webhooks.constructEvent).
  POST_CALL_WEBHOOK_TOLERANCE_S: intVar(60, 24 * 3600, 1800, " s"),
  // Analysis usually lands within minutes of the call; two hours covers retries.
  POST_CALL_JOIN_TTL_S: intVar(60, 48 * 3600, 7200, " s"),
  POST_CALL_JOIN_MAX: intVar(100, 1_000_000, 50_000),
} as const;

/** Names whose values never appear in configuration errors. */
export const ANALYSIS_SECRET_ENV = new Set(["ELEVENLABS_WEBHOOK_SECRET"]);

type Parsed = { [K in keyof typeof ANALYSIS_ENV]: z.infer<(typeof ANALYSIS_ENV)[K]> };

export function analysisConfig(e: Parsed): AnalysisConfig {
  return {
    webhookSecret: e.ELEVENLABS_WEBHOOK_SECRET,
    maxBodyBytes: e.POST_CALL_WEBHOOK_MAX_BYTES,
    toleranceS: e.POST_CALL_WEBHOOK_TOLERANCE_S,
    joinTtlMs: e.POST_CALL_JOIN_TTL_S * 1000,
    joinMaxEntries: e.POST_CALL_JOIN_MAX,
  };
}
