import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, isAgentAllowed, loadConfig } from "../../app/src/config.js";

const base = { ELEVENLABS_AGENT_ID: "agent_default" };

describe("loadConfig", () => {
  it("applies documented defaults", () => {
    const c = loadConfig(base);
    assert.equal(c.port, 10002);
    assert.equal(c.agent.region, "default");
    assert.equal(c.audio.chunkBytesAt8k, 3200);
    assert.equal(c.dtmf.mode, "user_message");
    assert.equal(c.log.level, "info");
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.limits));
  });

  it("PORT wins over BRIDGE_PORT; BRIDGE_PORT works alone (original bridge knob)", () => {
    assert.equal(loadConfig({ ...base, BRIDGE_PORT: "9000" }).port, 9000);
    assert.equal(loadConfig({ ...base, BRIDGE_PORT: "9000", PORT: "8080" }).port, 8080);
  });

  it("reports every bad variable in one line, by name, without echoing secrets", () => {
    try {
      loadConfig({
        PORT: "http",
        ELEVENLABS_REGION: "mars",
        CHUNK_SIZE: "1000",
        EXOTEL_BASIC_AUTH: "secretvalue",
        ELEVENLABS_BASE_URL: "ftp://x",
      });
      assert.fail("should throw");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      const m = e.message;
      assert.ok(!m.includes("\n"));
      for (const name of [
        "ELEVENLABS_AGENT_ID",
        "PORT",
        "ELEVENLABS_REGION",
        "CHUNK_SIZE",
        "EXOTEL_BASIC_AUTH",
        "ELEVENLABS_BASE_URL",
      ]) {
        assert.ok(m.includes(name), `${name} missing from: ${m}`);
      }
      assert.ok(!m.includes("secretvalue"));
    }
  });

  it("validates CHUNK_SIZE on the 320-byte grid and the playout lead against it", () => {
    assert.throws(() => loadConfig({ ...base, CHUNK_SIZE: "3300" }), /CHUNK_SIZE must be a multiple of 320/);
    assert.throws(
      () => loadConfig({ ...base, CHUNK_SIZE: "6400", PLAYOUT_LEAD_MS: "300" }),
      /PLAYOUT_LEAD_MS/,
    );
    assert.equal(
      loadConfig({ ...base, CHUNK_SIZE: "6400", PLAYOUT_LEAD_MS: "600" }).audio.chunkBytesAt8k,
      6400,
    );
  });

  it("treats blank values as unset", () => {
    assert.equal(
      loadConfig({ ...base, ELEVENLABS_API_KEY: "", ELEVENLABS_REGION: " " }).agent.apiKey,
      undefined,
    );
  });

  it("configures overrides only when set", () => {
    assert.deepEqual(loadConfig(base).agent.overrides, {});
    assert.deepEqual(
      loadConfig({ ...base, ELEVENLABS_LANGUAGE: "hi", ELEVENLABS_FIRST_MESSAGE: "" }).agent.overrides,
      {
        firstMessage: "",
        language: "hi",
      },
    );
  });

  it("allow-lists agent ids", () => {
    const none = loadConfig(base);
    assert.ok(isAgentAllowed(none, "agent_default"));
    assert.ok(!isAgentAllowed(none, "other"));
    const some = loadConfig({ ...base, ELEVENLABS_ALLOWED_AGENT_IDS: "a1, a2" });
    assert.ok(isAgentAllowed(some, "a2") && !isAgentAllowed(some, "a3"));
    assert.ok(isAgentAllowed(loadConfig({ ...base, ELEVENLABS_ALLOWED_AGENT_IDS: "*" }), "anything"));
  });
});
