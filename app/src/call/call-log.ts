/**
 * Optional per-call transcript files (CALL_LOG_DIR): one JSON file per call holding its summary
 * and transcript. Cloud Run's disk is in-memory and may be read-only: the first failure is logged
 * once and the writer turns itself off, so a bad disk never affects calls.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../log.js";
import type { CallSummary } from "./summary.js";

export class CallLogWriter {
  private disabled = false;
  private ready: Promise<void> | null = null;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  write(summary: CallSummary): void {
    if (this.disabled) return;
    const id = (summary.call_sid || summary.stream_sid || "unknown").replace(/[^A-Za-z0-9_-]/g, "_");
    const stamp = summary.started_at.replace(/[:.]/g, "-");
    const file = path.join(this.dir, `${stamp}_${id}.json`);
    this.ready ??= mkdir(this.dir, { recursive: true }).then(() => undefined);
    this.ready
      .then(() => writeFile(file, `${JSON.stringify(summary, null, 2)}\n`, { mode: 0o640 }))
      .catch((err: NodeJS.ErrnoException) => {
        if (this.disabled) return;
        this.disabled = true;
        this.log.warn(
          { event: "call_log_disabled", dir: this.dir, code: err.code },
          "cannot write call logs; continuing without them",
        );
      });
  }
}
