/**
 * The SharedState component on its own, both ways of in-transit encryption (the program test runs the
 * default, TLS): without TLS the instance says DISABLED, the URL is redis:// on 6379 and no CA goes to
 * the bridge; with it, rediss:// on the port Memorystore reports and every listed CA.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { SharedState } from "../components/shared-state";
import {
  MOCK_REDIS_AUTH,
  MOCK_REDIS_CAS,
  MOCK_REDIS_HOST,
  PROJECT_ID,
  plain,
  resolve,
  useMocks,
} from "./support/harness";

const value = async <T>(o: pulumi.Output<T>): Promise<T> => (await resolve(o)).value;

describe("SharedState", () => {
  it("without TLS: DISABLED, redis:// on 6379, no CA; with TLS: rediss://, the port reported, every CA", async () => {
    const recorded = await useMocks();
    const args = {
      project: PROJECT_ID,
      region: "asia-south1",
      prefix: "svc",
      subnetCidr: "10.8.0.0/24",
      tier: "BASIC" as const,
      memorySizeGb: 1,
      deletionProtection: false,
      labels: {},
    };
    const clear = new SharedState("clear", { ...args, prefix: "clear", tls: false });
    const tls = new SharedState("tls", { ...args, prefix: "tls", tls: true });
    assert.equal(await value(clear.redisUrl), `redis://:${MOCK_REDIS_AUTH}@${MOCK_REDIS_HOST}:6379`);
    assert.equal(clear.caCerts, undefined);
    assert.equal(await value(tls.redisUrl), `rediss://:${MOCK_REDIS_AUTH}@${MOCK_REDIS_HOST}:6378`);
    assert.equal(
      await value(tls.caCerts as pulumi.Output<string>),
      MOCK_REDIS_CAS.map((c) => c.trim()).join("\n"),
    );
    const modes = recorded()
      .filter((r) => r.type === "gcp:redis/instance:Instance")
      .map((r) => (plain(r.inputs) as Record<string, unknown>).transitEncryptionMode);
    assert.deepEqual(modes.sort(), ["DISABLED", "SERVER_AUTHENTICATION"]);
  });
});
