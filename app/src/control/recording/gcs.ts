/**
 * Uploads a finished recording to Cloud Storage with the JSON API and the runtime service
 * account's token from the metadata server, using only node:http(s):
 *
 *   GET  http://{GCE_METADATA_HOST}/computeMetadata/v1/instance/service-accounts/default/token
 *        Metadata-Flavor: Google                         -> {"access_token","expires_in"}
 *   POST {RECORDINGS_STORAGE_URL}/upload/storage/v1/b/{bucket}/o?uploadType=media&name=...&ifGenerationMatch=0
 *        Authorization: Bearer ..., Content-Type: audio/wav, Content-Length: <file size>, body = the file
 *
 * Why not @google-cloud/storage: it adds google-auth-library, gaxios, retry-request, teeny-request
 * and a dozen more packages to the production image for one request we can state exactly; the
 * runtime account is only granted object *create* on one bucket, which is all a single-request
 * upload needs (`ifGenerationMatch=0` makes an accidental overwrite fail instead of needing delete
 * rights). The file is streamed from disk, never read into memory; one retry on 5xx, 429 or a
 * network error.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import https from "node:https";

export interface UploaderOptions {
  readonly bucket: string;
  /** `https://storage.googleapis.com` or a stand-in. */
  readonly storageUrl: string;
  /** `metadata.google.internal` or `host:port` of a stand-in. */
  readonly metadataHost: string;
  readonly timeoutMs?: number;
}

export class UploadError extends Error {
  override readonly name = "UploadError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

function request(
  url: URL,
  options: http.RequestOptions,
  body: ((req: http.ClientRequest) => void) | undefined,
  timeoutMs: number,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === "https:" ? https : http;
    const req = lib.request(url, { ...options, timeout: timeoutMs }, (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        // Error bodies are small; never keep more than 64 KB of one.
        if (size < 65_536) parts.push(c);
        size += c.length;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new UploadError(`request timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    if (body) body(req);
    else req.end();
  });
}

export class GcsUploader {
  private token: { value: string; expiresAt: number } | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: UploaderOptions) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** `gs://bucket/name` for an object name. */
  uri(name: string): string {
    return `gs://${this.options.bucket}/${name}`;
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now()) return this.token.value;
    const url = new URL(
      `http://${this.options.metadataHost}/computeMetadata/v1/instance/service-accounts/default/token`,
    );
    const reply = await request(
      url,
      { method: "GET", headers: { "Metadata-Flavor": "Google" } },
      undefined,
      5000,
    );
    if (reply.status !== 200)
      throw new UploadError(`metadata server answered ${reply.status} for a token`, reply.status);
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(reply.body) as typeof parsed;
    } catch {
      throw new UploadError("metadata server token reply is not JSON");
    }
    if (typeof parsed.access_token !== "string")
      throw new UploadError("metadata server reply has no access_token");
    const ttlS = typeof parsed.expires_in === "number" ? parsed.expires_in : 300;
    // Refresh a minute early so a token never expires mid-upload.
    this.token = { value: parsed.access_token, expiresAt: Date.now() + Math.max(0, ttlS - 60) * 1000 };
    return parsed.access_token;
  }

  /** Uploads `file` as object `name`; resolves with the gs:// URI. */
  async upload(file: string, name: string, contentType = "audio/wav"): Promise<string> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.uploadOnce(file, name, contentType);
        return this.uri(name);
      } catch (err) {
        lastError = err;
        const status = (err as UploadError).status;
        const transient = status === undefined || status === 429 || status >= 500;
        if (!transient) break;
        if (status === 401) this.token = undefined;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw lastError;
  }

  private async uploadOnce(file: string, name: string, contentType: string): Promise<void> {
    const token = await this.accessToken();
    const { size } = await stat(file);
    const url = new URL(
      `${this.options.storageUrl}/upload/storage/v1/b/${encodeURIComponent(this.options.bucket)}/o`,
    );
    url.searchParams.set("uploadType", "media");
    url.searchParams.set("name", name);
    url.searchParams.set("ifGenerationMatch", "0");
    const reply = await request(
      url,
      {
        method: "POST",
        headers: {
          Authorization: `Bearer ${token}`,
          "Content-Type": contentType,
          "Content-Length": String(size),
        },
      },
      (req) => {
        const stream = createReadStream(file);
        stream.on("error", (err) => req.destroy(err));
        stream.pipe(req);
      },
      this.timeoutMs,
    );
    if (reply.status === 200) return;
    // The error text from Storage names the bucket and permission; it never contains the token.
    let message = reply.body.slice(0, 300);
    try {
      message = (JSON.parse(reply.body) as { error?: { message?: string } }).error?.message ?? message;
    } catch {}
    if (reply.status === 401) this.token = undefined;
    throw new UploadError(`Cloud Storage answered ${reply.status}: ${message}`, reply.status);
  }
}
