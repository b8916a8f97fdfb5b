import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DtmfCollector } from "../../../app/src/call/dtmf.js";
import { Ticker } from "../../../app/src/call/ticker.js";
import { ClientToolRegistry, type ToolContext } from "../../../app/src/call/tools.js";
import { createLogger } from "../../../app/src/log.js";

describe("DtmfCollector", () => {
  it("user_message: collects until # and sends the digits", () => {
    const sent: string[] = [];
    const d = new DtmfCollector("user_message", 10_000, (_k, t) => sent.push(t));
    for (const x of "4567#") d.push(x);
    assert.deepEqual(sent, ["4567"]);
    d.dispose();
  });

  it("user_message: flushes after a pause", async () => {
    const sent: string[] = [];
    const d = new DtmfCollector("user_message", 50, (k, t) => sent.push(`${k}:${t}`));
    d.push("1");
    d.push("2");
    await sleep(120);
    assert.deepEqual(sent, ["user_message:12"]);
    d.dispose();
  });

  it("contextual_update sends each digit; off sends nothing", () => {
    const sent: string[] = [];
    const c = new DtmfCollector("contextual_update", 50, (k) => sent.push(k));
    c.push("9");
    const off = new DtmfCollector("off", 50, (k) => sent.push(k));
    off.push("1");
    off.push("#");
    assert.deepEqual(sent, ["contextual_update"]);
  });

  it("dispose drops pending digits and their timer", async () => {
    const sent: string[] = [];
    const d = new DtmfCollector("user_message", 30, (_k, t) => sent.push(t));
    d.push("1");
    d.dispose();
    await sleep(60);
    assert.deepEqual(sent, []);
  });
});

describe("ClientToolRegistry", () => {
  const ctx: ToolContext = {
    callSid: "CA",
    streamSid: "MZ",
    log: createLogger("silent"),
    info: {
      callId: "c",
      callSid: "CA",
      streamSid: "MZ",
      accountSid: "",
      from: "",
      to: "",
      customParameters: {},
      sampleRate: 8000,
      requestedAgentId: undefined,
    },
    call: { endWhenAgentDone: () => {} },
  };

  it("runs a registered handler", async () => {
    const r = new ClientToolRegistry().register("lookup", (p, c) => `order ${String(p.id)} for ${c.callSid}`);
    assert.deepEqual(await r.run("lookup", { id: 7 }, ctx), { result: "order 7 for CA", isError: false });
  });

  it("turns unknown tools, throws and timeouts into error results", async () => {
    const r = new ClientToolRegistry(50)
      .register("boom", () => {
        throw new Error("db down");
      })
      .register("slow", () => sleep(1000).then(() => "late"));
    assert.equal((await r.run("nope", {}, ctx)).isError, true);
    assert.deepEqual(await r.run("boom", {}, ctx), { result: 'Tool "boom" failed: db down', isError: true });
    const t0 = performance.now();
    const slow = await r.run("slow", {}, ctx);
    assert.ok(slow.isError && /timed out/.test(slow.result));
    assert.ok(performance.now() - t0 < 500);
  });
});

describe("Ticker", () => {
  it("ticks members until they opt out, then stops its timer", async () => {
    const t = new Ticker(5);
    let a = 0;
    let b = 0;
    t.add({ onTick: () => ++a < 3 });
    t.add({
      onTick: () => {
        b++;
        throw new Error("member bug");
      },
    });
    await sleep(80);
    assert.equal(a, 3);
    assert.equal(b, 1, "a throwing member is dropped, the others keep ticking");
    assert.equal(t.size, 0);
    t.stop();
  });
});
