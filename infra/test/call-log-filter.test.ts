// The sink filter against the bridge's real output: the app's own logger writes a call summary
// (built by the app's buildSummary, logged the way Call.emitSummary logs it), the line is turned
// into a LogEntry the way Cloud Logging documents for structured JSON on Cloud Run stdout, and the
// filter the stack deploys is evaluated on that entry. Renaming `event` or its value in the app, or
// the field in the filter, fails here.
//
// Cloud Logging's structured-logging rules used here (cloud.google.com/logging/docs/structured-logging):
// `severity`, `message` and `logging.googleapis.com/labels` are lifted out of the payload (into
// LogEntry.severity, the payload's message, LogEntry.labels); every other field stays in jsonPayload.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { buildSummary, CallStats } from "../../app/src/call/summary";
import { callLogger, createLogger } from "../../app/src/log";
import { serviceLogFilter } from "../lib/log-filter";

const SERVICE = "exotel-bridge-prod";

interface LogEntry {
  resource: { type: string; labels: Record<string, string> };
  severity: string;
  labels: Record<string, string>;
  jsonPayload: Record<string, unknown>;
}

/** What Cloud Run's logging agent makes of one JSON line on stdout. */
function toLogEntry(line: string): LogEntry {
  const payload = JSON.parse(line) as Record<string, unknown>;
  const { severity, "logging.googleapis.com/labels": labels, ...rest } = payload;
  return {
    resource: {
      type: "cloud_run_revision",
      labels: { service_name: SERVICE, revision_name: `${SERVICE}-00001` },
    },
    severity: String(severity ?? "DEFAULT"),
    labels: (labels as Record<string, string>) ?? {},
    jsonPayload: rest,
  };
}

/**
 * Evaluates the subset of the Logging query language our filters use: comparisons
 * `path="value"`, or `path=("a" OR "b")` (equal to any of them), joined by AND. Anything else is
 * refused, so a filter that grows beyond this subset must teach the test first.
 */
function matches(filter: string, entry: LogEntry): boolean {
  return filter.split(" AND ").every((term) => {
    const m = /^([A-Za-z_.]+)=(?:"([^"]*)"|\(("[^"]*"(?: OR "[^"]*")*)\))$/.exec(term.trim());
    if (!m) throw new Error(`filter term not understood by the test: ${term}`);
    const wanted = m[2] !== undefined ? [m[2]] : (m[3] as string).split(" OR ").map((v) => v.slice(1, -1));
    let value: unknown = entry;
    for (const key of (m[1] as string).split(".")) {
      value =
        typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
    return typeof value === "string" && wanted.includes(value);
  });
}

function appLines(write: (log: ReturnType<typeof createLogger>) => void): string[] {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(
        ...String(chunk)
          .split("\n")
          .filter((l) => l !== ""),
      );
      done();
    },
  });
  write(createLogger("info", sink));
  return lines;
}

function summaryLine(endReason: "caller_hangup" | "agent_connect_failed"): string {
  const lines = appLines((base) => {
    const log = callLogger(base, { call_id: "c1", call_sid: "CA123", stream_sid: "ST9" });
    const summary = buildSummary({
      callId: "c1",
      callSid: "CA123",
      streamSid: "ST9",
      accountSid: "AC1",
      conversationId: "conv_1",
      agentId: "agent_1",
      from: "+919800000001",
      to: "+918000000002",
      sampleRate: 8000,
      agentFormats: undefined,
      customParameters: {},
      startedAt: new Date("2026-11-29T10:00:00Z"),
      durationMs: 42_000,
      endReason,
      endedBy: endReason === "caller_hangup" ? "caller" : "bridge",
      endDetail: undefined,
      agentClose: undefined,
      agentError: undefined,
      heardAgentMs: 1000,
      clearedAgentMs: 0,
      stats: new CallStats(),
    });
    // As Call.emitSummary does: ids live in the logger's bindings, errors log at error level.
    const { call_sid: _c, stream_sid: _s, conversation_id: _v, ...record } = summary;
    log[endReason === "caller_hangup" ? "info" : "error"](record, "call summary");
  });
  assert.equal(lines.length, 1);
  return lines[0] as string;
}

describe("call-log sink filter on the app's own output", () => {
  it("selects the call summary the app logs, at info and at error level", () => {
    const filter = serviceLogFilter(SERVICE, "summaries");
    for (const reason of ["caller_hangup", "agent_connect_failed"] as const) {
      const entry = toLogEntry(summaryLine(reason));
      assert.ok(matches(filter, entry), `${reason}: ${JSON.stringify(entry.jsonPayload).slice(0, 200)}`);
      assert.equal(entry.labels.call_sid, "CA123", "the call's ids are indexed labels");
    }
  });

  it("leaves the app's other lines in _Default, and other services' summaries alone", () => {
    const filter = serviceLogFilter(SERVICE, "summaries");
    const [other] = appLines((log) => log.info({ event: "call_started" }, "call started"));
    assert.equal(matches(filter, toLogEntry(other as string)), false);
    const foreign = toLogEntry(summaryLine("caller_hangup"));
    foreign.resource.labels.service_name = "someone-else";
    assert.equal(matches(filter, foreign), false);
    assert.equal(matches(serviceLogFilter(SERVICE, "all"), toLogEntry(other as string)), true);
  });
});
