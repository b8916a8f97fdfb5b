/**
 * `wss://` end to end, the way a deployed bridge is reached: a TLS terminator in front of the bridge
 * (Cloud Run's role) with Basic auth in the URL, and the simulated caller dialling it like Exotel.
 * Also checks that the simulator refuses a self-signed certificate unless told otherwise, as Exotel
 * would.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { placeCall } from "../../scripts/lib/exotel-caller.js";
import { type Rig, startRig } from "../support/bridge.js";

describe("wss:// through a TLS terminator", () => {
  let rig: Rig;
  let terminator: tls.Server;
  let url: string;

  before(async () => {
    rig = await startRig(
      { mode: "script", outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { EXOTEL_BASIC_AUTH: "exokey:exotoken" },
    );
    const bridgePort = Number(new URL(rig.bridge.url).port);
    terminator = tls.createServer(
      {
        cert: readFileSync("test/fixtures/tls/localhost-cert.pem"),
        key: readFileSync("test/fixtures/tls/localhost-key.pem"),
      },
      (clear) => {
        const upstream = net.connect(bridgePort, "127.0.0.1");
        clear.pipe(upstream).pipe(clear);
        const end = () => {
          clear.destroy();
          upstream.destroy();
        };
        clear.on("error", end);
        upstream.on("error", end);
        clear.on("close", end);
        upstream.on("close", end);
      },
    );
    await new Promise<void>((r) => terminator.listen(0, "127.0.0.1", r));
    url = `wss://exokey:exotoken@127.0.0.1:${(terminator.address() as AddressInfo).port}/media`;
  });

  after(async () => {
    terminator.close();
    await rig.close();
  });

  it("a call over wss:// with Basic auth in the URL works end to end", async () => {
    const { report } = await placeCall({
      url,
      insecure: true,
      sampleRate: 8000,
      audio: [{ wav: "fixtures/caller-barge-in-8k.wav", atMs: 4000 }],
      hangupAfterMs: 8000,
    });
    assert.ok(report.ok, report.failures.join("; "));
    assert.ok(report.audio.agentPlayedS > 1, "the agent was heard");
    assert.equal(report.frames.violations, 0);
  });

  it("a self-signed certificate is refused unless --insecure, as Exotel would", async () => {
    const { report } = await placeCall({ url, sampleRate: 8000, hangupAfterMs: 1000 });
    assert.equal(report.ok, false);
    assert.match(report.failures.join("; "), /self-signed certificate/);
  });
});
