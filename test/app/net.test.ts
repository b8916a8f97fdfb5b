import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { loadConfig } from "../../app/src/config.js";
import { buildAllowList, clientAddress, isAllowed, parseCidr } from "../../app/src/net.js";
import { verifyUpgrade } from "../../app/src/upgrade.js";

describe("CIDR allow-list", () => {
  it("parses v4 and v6 ranges and rejects junk", () => {
    assert.deepEqual(parseCidr("10.0.0.0/8"), { address: "10.0.0.0", prefix: 8, family: "ipv4" });
    assert.deepEqual(parseCidr("2001:db8::/32"), { address: "2001:db8::", prefix: 32, family: "ipv6" });
    assert.equal(parseCidr("1.2.3.4")?.prefix, 32);
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "x", "1.2.3.4/", "1.2.3.4/8a", ""])
      assert.equal(parseCidr(bad), undefined);
  });

  it("matches addresses, including IPv4-mapped IPv6 peers", () => {
    const list = buildAllowList(["182.76.0.0/16", "2001:db8::/32"]);
    assert.ok(isAllowed(list, "182.76.9.1"));
    assert.ok(isAllowed(list, clientAddress("::ffff:182.76.9.1", undefined, 0)));
    assert.ok(isAllowed(list, "2001:db8::5"));
    assert.ok(!isAllowed(list, "182.77.0.1"));
    assert.ok(!isAllowed(list, undefined));
  });

  it("trusts exactly N proxy hops of X-Forwarded-For", () => {
    assert.equal(clientAddress("10.0.0.2", "6.6.6.6, 182.76.1.1", 0), "10.0.0.2");
    assert.equal(
      clientAddress("10.0.0.2", "6.6.6.6, 182.76.1.1", 1),
      "182.76.1.1",
      "spoofed left entry ignored",
    );
    assert.equal(clientAddress("10.0.0.2", "182.76.1.1, 35.191.0.1", 2), "182.76.1.1");
    assert.equal(clientAddress("10.0.0.2", undefined, 1), undefined);
    assert.equal(clientAddress("10.0.0.2", "junk", 1), undefined);
    assert.equal(clientAddress("10.0.0.2", "1.1.1.1", 2), undefined);
  });

  it("refuses upgrades from outside the list with 403, behind Cloud Run's proxy", () => {
    const config = loadConfig({
      ELEVENLABS_AGENT_ID: "a",
      EXOTEL_ALLOWED_CIDRS: "182.76.0.0/16",
      TRUSTED_PROXY_HOPS: "1",
    });
    const allowList = buildAllowList(config.exotel.allowedCidrs ?? []);
    const req = (xff?: string) =>
      ({
        url: "/media",
        headers: { "x-forwarded-for": xff },
        socket: { remoteAddress: "169.254.1.1" },
      }) as unknown as IncomingMessage;
    const state = { draining: false, activeCalls: 0, allowList };
    const ok = verifyUpgrade(req("182.76.3.4"), config, state);
    assert.ok(ok.ok && ok.call.remoteAddress === "182.76.3.4");
    const bad = verifyUpgrade(req("182.76.3.4, 8.8.8.8"), config, state);
    assert.ok(!bad.ok && bad.status === 403);
    const none = verifyUpgrade(req(undefined), config, state);
    assert.ok(!none.ok && none.status === 403);
  });

  it("rejects invalid CIDR configuration by name", () => {
    assert.throws(
      () => loadConfig({ ELEVENLABS_AGENT_ID: "a", EXOTEL_ALLOWED_CIDRS: "10.0.0.0/8, nope" }),
      /EXOTEL_ALLOWED_CIDRS.*nope/,
    );
  });
});
