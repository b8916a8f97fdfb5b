import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger } from "../../app/src/log.js";
import { logPrivacy, maskPhoneNumber, numberForLog, transcriptForLog } from "../../app/src/privacy.js";

describe("maskPhoneNumber", () => {
  it("keeps the country code and the last four digits of a full number", () => {
    assert.equal(maskPhoneNumber("+919876543210"), "+91******3210");
    assert.equal(maskPhoneNumber("+1 (415) 555-0100"), "+1******0100");
    assert.equal(maskPhoneNumber("+4420 7946 0958"), "+44******0958");
    assert.equal(maskPhoneNumber("+9715 0123 4567"), "+971*****4567");
  });

  it("keeps a national number's trunk 0 and its last four digits", () => {
    assert.equal(maskPhoneNumber("09876543210"), "0******3210");
    assert.equal(maskPhoneNumber("9876543210"), "******3210");
  });

  it("shows little of short numbers and nothing of what is not a number", () => {
    assert.equal(maskPhoneNumber("140230"), "****30");
    assert.equal(maskPhoneNumber("1234"), "***4");
    assert.equal(maskPhoneNumber("+91"), "+**");
    assert.equal(maskPhoneNumber("sip:asha@example.com"), "********************".slice(0, 16));
    assert.equal(maskPhoneNumber(""), "");
  });

  it("never returns more than four digits of any input", () => {
    for (const n of ["+919876543210", "0091 98765 43210", "98765432101234567890", "+1-800-555-0199"]) {
      const shown = maskPhoneNumber(n).replace(/^\+\d{1,3}/, "");
      assert.ok((shown.match(/\d/g) ?? []).length <= 5, `${n} -> ${maskPhoneNumber(n)}`);
    }
  });
});

describe("log privacy settings", () => {
  it("numbers: masked or full", () => {
    assert.equal(numberForLog("+919876543210", "masked"), "+91******3210");
    assert.equal(numberForLog("+919876543210", "full"), "+919876543210");
    assert.equal(numberForLog(undefined, "masked"), undefined);
  });

  it("transcripts: off, summary (sizes only) or lines", () => {
    assert.equal(transcriptForLog("hello there", "off"), undefined);
    assert.deepEqual(transcriptForLog("hello there", "summary"), { chars: 11 });
    assert.deepEqual(transcriptForLog("hello there", "lines"), { text: "hello there" });
  });

  it("defaults to masked numbers and no transcripts", () => {
    const p = logPrivacy();
    assert.equal(p.number("+919876543210"), "+91******3210");
    assert.equal(p.transcript("hi"), undefined);
  });
});

describe("the logger applies the settings to every line", () => {
  function capture(privacy?: Parameters<typeof logPrivacy>[0]) {
    const lines: Record<string, unknown>[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _e, done) {
        for (const l of chunk.toString().split("\n")) if (l.trim()) lines.push(JSON.parse(l));
        done();
      },
    });
    const log = createLogger("info", { write: (s: string) => dest.write(s) }, privacy ? { privacy } : {});
    return { log, lines };
  }

  it("masks number fields and drops transcripts by default, without touching the caller's object", async () => {
    const { log, lines } = capture();
    const summary = {
      event: "call_summary",
      from: "+919876543210",
      to: "+918047491899",
      transcript: [{ role: "user", text: "my PIN is 1234" }],
      transcript_turns: 1,
    };
    log.info({ event: "call_start", from: "+919876543210", nested: { to: "+918047491899" } }, "start");
    log.info({ event: "transcript", role: "user", text: "my PIN is 1234" }, "caller");
    log.info(summary, "summary");
    log.info({ apiKey: "xi-secret" }, "secret");
    await new Promise((r) => setImmediate(r));
    const text = JSON.stringify(lines);
    assert.ok(!text.includes("9876543210") && !text.includes("8047491899"), text);
    assert.ok(!text.includes("1234"), "transcript text logged");
    assert.equal(lines.length, 3, "the transcript line is not written");
    assert.equal(lines[0]?.from, "+91******3210");
    assert.equal((lines[0]?.nested as { to: string } | undefined)?.to, "+91******1899");
    assert.equal(lines[1]?.transcript_turns, 1);
    assert.equal(lines[2]?.apiKey, "[redacted]");
    assert.equal(summary.transcript.length, 1, "the per-call record keeps its transcript");
    assert.equal(summary.from, "+919876543210");
  });

  it("summary mode logs sizes; lines and full log everything", async () => {
    const sum = capture({ callerNumbers: "masked", transcripts: "summary" });
    sum.log.info({ event: "transcript", role: "agent", text: "hello" }, "agent");
    const full = capture({ callerNumbers: "full", transcripts: "lines" });
    full.log.info({ event: "transcript", role: "agent", text: "hello", from: "+919876543210" }, "agent");
    full.log.info({ event: "call_summary", transcript: [{ text: "hello" }] }, "summary");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([sum.lines[0]?.chars, sum.lines[0]?.text], [5, undefined]);
    assert.equal(full.lines[0]?.text, "hello");
    assert.equal(full.lines[0]?.from, "+919876543210");
    assert.deepEqual(full.lines[1]?.transcript, [{ text: "hello" }]);
  });
});
