/**
 * A minimal server-sent-events reader over a real HTTP connection, for the console tests: it
 * collects every `data:` message and lets a test wait for one that matches.
 */
import http from "node:http";
import type { ConsoleMessage } from "../../app/src/console/events.js";

export function basic(credential: string): string {
  return `Basic ${Buffer.from(credential, "utf8").toString("base64")}`;
}

export class SseReader {
  readonly messages: ConsoleMessage[] = [];
  comments = 0;
  private buffer = "";
  private waiters: Array<() => void> = [];
  private closed = false;

  private constructor(
    readonly response: http.IncomingMessage,
    private readonly request: http.ClientRequest,
  ) {
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => this.onData(chunk));
    response.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Opens `url` with an optional Authorization header; resolves once the status line is in. */
  static open(url: string, authorization?: string): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { headers: authorization ? { authorization } : {} }, (res) =>
        resolve(new SseReader(res, req)),
      );
      req.on("error", reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let end = this.buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ")) this.messages.push(JSON.parse(line.slice(6)) as ConsoleMessage);
        else if (line.startsWith(":")) this.comments++;
      }
      end = this.buffer.indexOf("\n\n");
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async waitFor(
    predicate: (messages: ConsoleMessage[]) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (this.closed) throw new Error(`stream closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.request.destroy();
  }
}
