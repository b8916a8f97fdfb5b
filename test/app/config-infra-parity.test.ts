/**
 * infra/ cannot import the bridge (it deploys an image of it), so infra/config.ts keeps its own
 * copies of what the bridge accepts: ElevenLabs regions, Exotel sample rates, log levels, and the
 * names of the variables the stack sets. Each copy is held here to the bridge's own definition, so
 * a stack can never hand the bridge a value or a variable it would refuse or ignore.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { STREAM_SAMPLE_RATES } from "../../app/src/config/control.js";
import { ENV_NAMES, isSecretEnv, LOG_LEVELS } from "../../app/src/config.js";
import { REGION_HOSTS } from "../../app/src/elevenlabs/hosts.js";
import { NUMBER_LOG_MODES, TRANSCRIPT_LOG_MODES } from "../../app/src/privacy.js";

/** What this test reads from infra/config.ts. */
interface InfraConfig {
  readonly CALL_CONTROL_SECRETS: Readonly<Record<string, string>>;
  readonly CALLER_NUMBER_LOG_MODES: readonly string[];
  readonly TRANSCRIPT_LOG_MODES: readonly string[];
  readonly MANAGED_SECRETS: Readonly<Record<string, { readonly env: string }>>;
  readonly REFUSED_ENV: Readonly<Record<string, string>>;
  readonly ELEVENLABS_REGIONS: readonly string[];
  readonly EXOTEL_SAMPLE_RATES: readonly number[];
  readonly LOG_LEVELS: readonly string[];
  readonly MANAGED_ENV: ReadonlySet<string>;
}

// Loaded at run time by URL: infra/ is a CommonJS Pulumi program with its own tsconfig, which the
// bridge's type check cannot take in (its own type check covers infra/config.ts).
const infraConfigUrl = new URL("../../infra/config.ts", import.meta.url).href;
const {
  CALL_CONTROL_SECRETS,
  CALLER_NUMBER_LOG_MODES,
  TRANSCRIPT_LOG_MODES: INFRA_TRANSCRIPT_LOG_MODES,
  MANAGED_SECRETS,
  REFUSED_ENV,
  ELEVENLABS_REGIONS,
  EXOTEL_SAMPLE_RATES,
  LOG_LEVELS: INFRA_LOG_LEVELS,
  MANAGED_ENV,
} = (await import(infraConfigUrl)) as InfraConfig;

const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort();

describe("infra/config.ts agrees with the bridge's configuration", () => {
  it("ElevenLabs regions", () => {
    assert.deepEqual(sorted(ELEVENLABS_REGIONS), sorted(Object.keys(REGION_HOSTS)));
  });

  it("Exotel sample rates", () => {
    assert.deepEqual(sorted(EXOTEL_SAMPLE_RATES), sorted(STREAM_SAMPLE_RATES));
  });

  it("log levels", () => {
    assert.deepEqual(sorted(INFRA_LOG_LEVELS), sorted(LOG_LEVELS));
  });

  it("privacy modes (LOG_CALLER_NUMBERS, LOG_TRANSCRIPTS)", () => {
    assert.deepEqual(sorted(CALLER_NUMBER_LOG_MODES), sorted(NUMBER_LOG_MODES));
    assert.deepEqual(sorted(INFRA_TRANSCRIPT_LOG_MODES), sorted(TRANSCRIPT_LOG_MODES));
  });

  it("every credential the stack keeps in Secret Manager is a bridge variable never echoed", () => {
    const envs = Object.values(MANAGED_SECRETS).map((s) => s.env);
    for (const name of [
      "ADMIN_TOKEN",
      "CONSOLE_BASIC_AUTH",
      "ELEVENLABS_WEBHOOK_SECRET",
      "EXOTEL_WEBHOOK_TOKEN",
    ]) {
      assert.ok(envs.includes(name), `infra/managed-secrets.json lists ${name}`);
    }
    for (const name of envs) {
      assert.ok(ENV_NAMES.has(name), `${name} is not a bridge variable`);
      // ELEVENLABS_AGENT_ID is an id, kept in Secret Manager only to rotate with the key.
      if (name !== "ELEVENLABS_AGENT_ID")
        assert.ok(isSecretEnv(name), `${name} would be echoed in a configuration error`);
    }
  });

  it("every variable the stack manages or refuses is one the bridge reads", () => {
    const unknown = sorted([...MANAGED_ENV, ...Object.keys(REFUSED_ENV)]).filter((n) => !ENV_NAMES.has(n));
    assert.deepEqual(unknown, [], `infra manages variables the bridge never reads: ${unknown.join(", ")}`);
  });

  it("call-control credentials the stack keeps in Secret Manager are ones the bridge never echoes", () => {
    for (const name of Object.values(CALL_CONTROL_SECRETS)) {
      assert.ok(ENV_NAMES.has(name), `${name} is not a bridge variable`);
      assert.ok(isSecretEnv(name), `${name} would be echoed in a configuration error`);
    }
  });

  it("every variable infra/index.ts sets by name is a bridge variable the stack manages", () => {
    // The program's own env block and `env.NAME = ...` assignments, read from source: evaluating
    // the program needs a Pulumi engine, and the names are all this test needs.
    const source = readFileSync(new URL("../../infra/index.ts", import.meta.url), "utf8");
    const block = /const env: Record<string, string> = \{([\s\S]*?)\n\};/.exec(source)?.[1] ?? "";
    const names = new Set([
      ...[...block.matchAll(/^\s*([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1] as string),
      ...[...source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)\s*=/g)].map((m) => m[1] as string),
    ]);
    assert.ok(names.size >= 4, `found only ${[...names].join(", ")} in infra/index.ts: the pattern is stale`);
    for (const name of names) {
      assert.ok(ENV_NAMES.has(name), `infra/index.ts sets ${name}, which the bridge does not read`);
      assert.ok(MANAGED_ENV.has(name), `infra/index.ts sets ${name} but MANAGED_ENV does not list it`);
    }
  });
});
