/**
 * Places an outbound call through a running bridge's `POST /calls` (which asks Exotel to dial and
 * puts the agent on the line when the customer answers).
 *
 *   npm run dial -- --to +919876543210 [--agent agent_x] [--var name=Asha --var order=4567]
 *                   [--first-message "Hi {{name}}"] [--language hi] [--voice VOICE] [--custom-field crm-42]
 *                   [--url https://bridge.example.com] [--token TOKEN]
 *
 * --url defaults to $BRIDGE_URL, else http://localhost:$BRIDGE_PORT (10002). --token defaults to
 * $CALLS_API_TOKEN (prefer the variable: a token on the command line shows in `ps`). Prints the
 * Exotel call SID on success (exit 0); the bridge's error otherwise (exit 1); bad usage exits 2.
 * `--help` prints the options with the defaults this shell would use, and exits 0.
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const USAGE =
  "usage: npm run dial -- --to <number> [--agent <id>] [--var k=v]... [--first-message <text>] " +
  "[--language <code>] [--voice <id>] [--custom-field <text>] [--url <bridge url>] [--token <token>]";

/** Thrown for `--help`: its message is the help text, printed to stdout with exit 0. */
export class DialHelp extends Error {
  override readonly name = "DialHelp";
}

function defaultUrl(env: NodeJS.ProcessEnv): string {
  return (env.BRIDGE_URL ?? `http://localhost:${env.BRIDGE_PORT ?? "10002"}`).replace(/\/+$/, "");
}

/** The help text, with the defaults resolved from `env` (never the token itself). */
export function dialHelp(env: NodeJS.ProcessEnv): string {
  const token = env.CALLS_API_TOKEN ? "from CALLS_API_TOKEN (set)" : "CALLS_API_TOKEN (not set: required)";
  return [
    "Places an outbound call through a running bridge (POST /calls): Exotel dials the number and the",
    "agent talks when the customer answers. Prints the Exotel call SID.",
    "",
    USAGE,
    "",
    "  --to <number>           number to call, e.g. +919876543210 (required)",
    "  --agent <id>            agent for this call (default: the bridge's ELEVENLABS_AGENT_ID or routing table)",
    "  --var name=value        dynamic variable for the agent; repeat for more",
    "  --first-message <text>  conversation override (the agent must allow it)",
    "  --language <code>       conversation override, e.g. hi",
    "  --voice <id>            conversation override: voice id",
    "  --custom-field <text>   passed to Exotel and back in its callbacks",
    `  --url <bridge url>      default ${defaultUrl(env)} ($BRIDGE_URL, else http://localhost:$BRIDGE_PORT)`,
    `  --token <token>         default ${token}; prefer the variable (arguments show in ps)`,
    "  -h, --help              this text",
    "",
    "Exit codes: 0 placed, 1 the bridge refused or was unreachable, 2 bad usage.",
  ].join("\n");
}

export interface DialArgs {
  readonly url: string;
  readonly token: string;
  readonly body: Record<string, unknown>;
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      to: { type: "string" },
      agent: { type: "string" },
      var: { type: "string", multiple: true },
      "first-message": { type: "string" },
      language: { type: "string" },
      voice: { type: "string" },
      "custom-field": { type: "string" },
      url: { type: "string" },
      token: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
}

/** Parses argv + env into the request; throws Error(usage line) on bad input, DialHelp for --help. */
export function parseDialArgs(argv: readonly string[], env: NodeJS.ProcessEnv): DialArgs {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) throw new DialHelp(dialHelp(env));
  if (values.to === undefined) throw new Error(`--to is required\n${USAGE}`);
  const token = values.token ?? env.CALLS_API_TOKEN;
  if (token === undefined || token === "") throw new Error(`set CALLS_API_TOKEN (or --token)\n${USAGE}`);
  const url = values.url?.replace(/\/+$/, "") ?? defaultUrl(env);
  const vars: Record<string, string> = {};
  for (const kv of values.var ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new Error(`--var takes name=value, got "${kv}"\n${USAGE}`);
    vars[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const overrides: Record<string, string> = {};
  if (values["first-message"] !== undefined) overrides.first_message = values["first-message"];
  if (values.language !== undefined) overrides.language = values.language;
  if (values.voice !== undefined) overrides.voice_id = values.voice;
  return {
    url,
    token,
    body: {
      to: values.to,
      ...(values.agent !== undefined && { agent_id: values.agent }),
      ...(Object.keys(vars).length > 0 && { dynamic_variables: vars }),
      ...(Object.keys(overrides).length > 0 && { overrides }),
      ...(values["custom-field"] !== undefined && { custom_field: values["custom-field"] }),
    },
  };
}

async function main(): Promise<number> {
  let args: DialArgs;
  try {
    args = parseDialArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof DialHelp) {
      process.stdout.write(`${err.message}\n`);
      return 0;
    }
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  let res: Response;
  try {
    res = await fetch(`${args.url}/calls`, {
      method: "POST",
      headers: { Authorization: `Bearer ${args.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(args.body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    process.stderr.write(`dial: cannot reach ${args.url}: ${(err as Error).message}\n`);
    return 1;
  }
  const text = await res.text();
  if (res.status === 201) {
    const body = JSON.parse(text) as { call_sid: string; status: string; mode: string; agent_id: string };
    process.stdout.write(
      `${body.call_sid}\n` +
        `  placed through Exotel (${body.mode} mode, status ${body.status || "unknown"}), agent ${body.agent_id}\n`,
    );
    return 0;
  }
  process.stderr.write(`dial: the bridge answered ${res.status}: ${text}\n`);
  return 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => process.exit(code));
}
