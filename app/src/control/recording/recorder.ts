/**
 * Call recordings: an AudioTap per call that writes a stereo WAV (caller left, agent right, aligned
 * as heard, barge-in cuts respected: see stereo-timeline.ts) to RECORDINGS_DIR as the call goes,
 * then, when RECORDINGS_BUCKET is set, uploads it to Cloud Storage and (unless
 * RECORDINGS_KEEP_LOCAL) deletes the local copy: on Cloud Run the local disk is memory.
 *
 * The summary gets `recording` (gs:// URI or local path) and `recording_s`. Upload waits at most
 * UPLOAD_WAIT_MS inside `finish()` (the call's summary waits on it); a longer upload goes on in the
 * background and the summary says `recording_upload: "pending"`, its end is logged on its own line.
 * A disk error turns the recording off for that call; it never affects the call itself.
 */
import { type FileHandle, mkdir, open, unlink } from "node:fs/promises";
import path from "node:path";
import type { AudioTap, CallInfo } from "../../call/hooks.js";
import type { RecordingFacts } from "../../call/summary.js";
import type { Logger } from "../../log.js";
import type { GcsUploader } from "./gcs.js";
import { StereoTimeline, wavHeader } from "./stereo-timeline.js";

/** Must stay under the Call's own bound on finish() (10 s), leaving time for the file to close. */
const UPLOAD_WAIT_MS = 8000;

export interface RecorderOptions {
  readonly dir: string;
  readonly prefix: string;
  readonly uploader: GcsUploader | undefined;
  readonly keepLocal: boolean;
  readonly log: Logger;
  /** The call's clock (Call uses performance.now()). */
  readonly now?: () => number;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 80);

export class Recorder {
  constructor(private readonly options: RecorderOptions) {}

  /** Where a call's recording goes: local file and object name. */
  names(info: CallInfo, startedAt: Date): { file: string; object: string } {
    const iso = startedAt.toISOString();
    const id = `${safe(info.callSid || "nosid")}_${info.callId.slice(0, 8)}`;
    const day = iso.slice(0, 10).replaceAll("-", "/");
    return {
      file: path.resolve(this.options.dir, `${iso.replace(/[:.]/g, "-")}_${id}.wav`),
      object: `${this.options.prefix}${day}/${id}.wav`,
    };
  }

  tap(info: CallInfo): AudioTap {
    const startedAt = new Date();
    const { file, object } = this.names(info, startedAt);
    return new RecordingTap(info, file, object, this.options);
  }
}

class RecordingTap implements AudioTap {
  private readonly timeline: StereoTimeline;
  private handle: FileHandle | undefined;
  /** Every write goes through this chain, in order. */
  private chain: Promise<void>;
  private dataBytes = 0;
  private failed: Error | undefined;
  private readonly log: Logger;

  constructor(
    private readonly info: CallInfo,
    private readonly file: string,
    private readonly object: string,
    private readonly options: RecorderOptions,
  ) {
    const now = options.now ?? (() => performance.now());
    this.timeline = new StereoTimeline(info.sampleRate, now());
    this.log = options.log;
    this.chain = mkdir(path.dirname(file), { recursive: true })
      .then(() => open(file, "w", 0o640))
      .then(async (h) => {
        this.handle = h;
        await h.write(wavHeader(0, info.sampleRate, 2), 0, 44, 0);
      })
      .catch((err: unknown) => this.fail(err));
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = err as Error;
    this.log.warn(
      { event: "recording_failed", file: this.file, code: (err as NodeJS.ErrnoException).code },
      "cannot write the call recording; the call goes on without it",
    );
  }

  private flush(stereo: Buffer): void {
    if (stereo.length === 0 || this.failed) return;
    this.chain = this.chain.then(async () => {
      if (this.failed || this.handle === undefined) return;
      try {
        await this.handle.write(stereo, 0, stereo.length, 44 + this.dataBytes);
        this.dataBytes += stereo.length;
      } catch (err) {
        this.fail(err);
      }
    });
  }

  caller(pcm: Buffer, at: number): void {
    this.timeline.caller(pcm, at);
    this.flush(this.timeline.take());
  }

  agent(pcm: Buffer, playAt: number): void {
    this.timeline.agent(pcm, playAt);
  }

  cleared(at: number): void {
    this.timeline.cleared(at);
  }

  async finish(): Promise<RecordingFacts | undefined> {
    this.flush(this.timeline.takeAll());
    await this.chain;
    const h = this.handle;
    if (h !== undefined) {
      try {
        if (!this.failed) await h.write(wavHeader(this.dataBytes, this.info.sampleRate, 2), 0, 44, 0);
      } catch (err) {
        this.fail(err);
      } finally {
        await h.close().catch(() => {});
      }
    }
    if (this.failed) return { recording_error: this.failed.message.slice(0, 200) };
    const seconds = Math.round((this.dataBytes / 4 / this.info.sampleRate) * 1000) / 1000;
    const uploader = this.options.uploader;
    if (uploader === undefined) return { recording: this.file, recording_s: seconds };

    const upload = uploader.upload(this.file, this.object).then(
      async (uri) => {
        if (!this.options.keepLocal) await unlink(this.file).catch(() => {});
        return uri;
      },
      (err: unknown) => {
        this.log.error(
          {
            event: "recording_upload_failed",
            file: this.file,
            object: this.object,
            status: (err as { status?: number }).status,
            detail: (err as Error).message,
          },
          "recording upload failed; the local file is kept",
        );
        throw err;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      upload.then(
        (uri) => ({ done: true as const, uri }),
        () => ({ done: false as const, failed: true }),
      ),
      new Promise<{ done: false; failed: false }>((r) => {
        timer = setTimeout(() => r({ done: false, failed: false }), UPLOAD_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (waited.done) return { recording: waited.uri, recording_s: seconds };
    if (waited.failed) return { recording: this.file, recording_s: seconds, recording_upload: "failed" };
    upload.then(
      (uri) => this.log.info({ event: "recording_uploaded", recording: uri }, "recording uploaded"),
      () => {},
    );
    return { recording: uploader.uri(this.object), recording_s: seconds, recording_upload: "pending" };
  }
}
