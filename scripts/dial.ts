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
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const USAGE =
  "usage: npm run dial -- --to <number> [--agent <id>] [--var k=v]... [--first-message <text>] " +
  "[--language <code>] [--voice <id>] [--custom-field <text>] [--url <bridge url>] [--token <token>]";

export interface DialArgs {
  readonly url: string;
  readonly token: string;
  readonly body: Record<string, unknown>;
}

/** Parses argv + env into the request; throws Error(usage line) on bad input. */
export function parseDialArgs(argv: readonly string[], env: NodeJS.ProcessEnv): DialArgs {
  const { values } = parseArgs({
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
  if (values.help) throw new Error(USAGE);
  if (values.to === undefined) throw new Error(`--to is required\n${USAGE}`);
  const token = values.token ?? env.CALLS_API_TOKEN;
  if (token === undefined || token === "") throw new Error(`set CALLS_API_TOKEN (or --token)\n${USAGE}`);
  const url = (values.url ?? env.BRIDGE_URL ?? `http://localhost:${env.BRIDGE_PORT ?? "10002"}`).replace(
    /\/+$/,
    "",
  );
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
