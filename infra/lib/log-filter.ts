// Cloud Logging filters for the bridge's logs. The bridge writes pino JSON to stdout; Cloud Run
// turns each line into a LogEntry whose jsonPayload holds the fields, and each finished call
// leaves exactly one record with `"event":"call_summary"`.
import type { LogRouting } from "../config";

/** The sink filter: the service's call summaries, or every log line of the service. */
export function serviceLogFilter(serviceName: string, routing: LogRouting): string {
  if (!/^[a-z0-9-]+$/.test(serviceName)) throw new Error(`unexpected service name ${serviceName}`);
  const service = `resource.type="cloud_run_revision" AND resource.labels.service_name="${serviceName}"`;
  return routing === "all" ? service : callRecordsFilter(serviceName);
}

/** The records kept per call: the bridge's summary and ElevenLabs' post-call analysis. */
export const CALL_RECORD_EVENTS = ["call_summary", "call_analysis"] as const;

/** The service's call records (phone numbers, transcripts, collected data) and nothing else. */
export function callRecordsFilter(serviceName: string): string {
  if (!/^[a-z0-9-]+$/.test(serviceName)) throw new Error(`unexpected service name ${serviceName}`);
  const events = CALL_RECORD_EVENTS.map((e) => `"${e}"`).join(" OR ");
  return `resource.type="cloud_run_revision" AND resource.labels.service_name="${serviceName}" AND jsonPayload.event=(${events})`;
}
