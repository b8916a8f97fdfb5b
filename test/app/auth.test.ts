import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import {
  basicMatches,
  bearerMatches,
  type CredentialPolicy,
  challenge,
  isAuthorized,
  secretEquals,
} from "../../app/src/auth.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("credential checks", () => {
  it("secretEquals: equal only when presented and identical", () => {
    assert.ok(secretEquals("abc", "abc"));
    assert.ok(!secretEquals("abd", "abc"));
    assert.ok(!secretEquals("abcd", "abc"));
    assert.ok(!secretEquals(undefined, ""), "nothing presented never matches, even an empty secret");
    assert.ok(!secretEquals("", "abc"));
  });

  it("Basic and Bearer parse their scheme only", () => {
    assert.ok(basicMatches(`Basic ${b64("key:tok")}`, "key:tok"));
    assert.ok(basicMatches(`basic  ${b64("key:tok")}`, "key:tok"));
    assert.ok(!basicMatches(`Basic ${b64("key:to")}`, "key:tok"));
    assert.ok(!basicMatches("Bearer key:tok", "key:tok"));
    assert.ok(!basicMatches(undefined, "key:tok"));
    assert.ok(bearerMatches("Bearer t0ken", "t0ken"));
    assert.ok(bearerMatches("bearer t0ken ", "t0ken"));
    assert.ok(!bearerMatches("Bearer t0ken2", "t0ken"));
    assert.ok(!bearerMatches(`Basic ${b64("t0ken")}`, "t0ken"));
    assert.ok(!bearerMatches("Bearer", "t0ken"));
  });

  it("challenge names the scheme a client should use", () => {
    assert.match(challenge({ basic: "a:b", realm: "r" }), /^Basic realm="r"/);
    assert.equal(challenge({ bearer: "t", realm: "r" }), 'Bearer realm="r"');
  });
});

// requireCredential (the Express wrapper) is exercised through the bridge in test/e2e/security-edge.test.ts.
describe("isAuthorized over HTTP", () => {
  async function serve(policy: CredentialPolicy) {
    const server = http.createServer((req, res) => {
      if (isAuthorized(req, policy)) res.end("in");
      else res.writeHead(401, { "www-authenticate": challenge(policy) }).end("Unauthorized");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { base, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it("accepts either configured credential, refuses everything else without detail", async () => {
    const s = await serve({ bearer: "tok-123", basic: "ops:pw", realm: "bridge" });
    try {
      const status = async (authorization?: string) =>
        (await fetch(`${s.base}/x`, authorization ? { headers: { authorization } } : {})).status;
      assert.equal(await status("Bearer tok-123"), 200);
      assert.equal(await status(`Basic ${b64("ops:pw")}`), 200);
      assert.equal(await status("Bearer tok-1234"), 401);
      assert.equal(await status(`Basic ${b64("ops:pw2")}`), 401);
      const res = await fetch(`${s.base}/x`);
      assert.equal(res.status, 401);
      assert.equal(await res.text(), "Unauthorized");
      assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm="bridge"/);
    } finally {
      await s.close();
    }
  });

  it("an empty policy is closed; an exemption opens it for matching requests only", async () => {
    const closed = await serve({ realm: "r" });
    const open = await serve({ realm: "r", exempt: (req) => req.headers["x-test"] === "yes" });
    try {
      assert.equal((await fetch(`${closed.base}/x`, { headers: { authorization: "Bearer " } })).status, 401);
      assert.equal((await fetch(`${open.base}/x`, { headers: { "x-test": "yes" } })).status, 200);
      assert.equal((await fetch(`${open.base}/x`)).status, 401);
    } finally {
      await closed.close();
      await open.close();
    }
  });
});
