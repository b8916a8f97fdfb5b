import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger, LogRateLimiter, logDestination } from "../../app/src/log.js";

describe("log format", () => {
  it("auto is JSON unless stdout is a terminal; json is always JSON", async () => {
    assert.equal(await logDestination("auto", false), undefined);
    assert.equal(await logDestination("json", true), undefined);
  });

  it("pretty (or auto on a terminal) writes readable lines through pino-pretty", async () => {
    const chunks: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const dest = await logDestination("auto", true, out);
    assert.ok(dest, "pino-pretty is a development dependency of the repository");
    createLogger("info", dest).info({ event: "listening", port: 10002 }, "exotel-bridge listening");
    await new Promise((r) => setImmediate(r));
    const text = chunks.join("");
    assert.match(text, /INFO.*exotel-bridge listening/);
    assert.match(text, /event: "listening"/);
    assert.ok(!text.trimStart().startsWith("{"), "not JSON");
  });
});

describe("LogRateLimiter", () => {
  it("allows the burst, then counts what it suppresses", () => {
    const limiter = new LogRateLimiter(5, 20);
    let allowed = 0;
    for (let i = 0; i < 300; i++) if (limiter.allow()) allowed++;
    assert.ok(allowed >= 20 && allowed <= 22, `${allowed}`);
    assert.equal(limiter.suppressed, 300 - allowed);
  });
});
