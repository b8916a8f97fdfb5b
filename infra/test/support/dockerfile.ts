// A small reader of app/Dockerfile for the Docker-context test: stages with their COPY, RUN, ENV,
// USER and CMD instructions, in order. Only the instructions our Dockerfile uses are understood;
// anything else is an error, so a new instruction forces the test to be taught it.

export type Step =
  | { kind: "copy"; from?: string; sources: string[]; dest: string }
  | { kind: "run"; command: string }
  | { kind: "env"; vars: Record<string, string> }
  | { kind: "workdir"; dir: string }
  | { kind: "user"; user: string }
  | { kind: "cmd"; argv: string[] }
  | { kind: "meta"; instruction: string };

export interface Stage {
  name: string;
  base: string;
  steps: Step[];
}

/** Joins `\` continuations and drops comments and blank lines. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    out.push((pending + line).trim());
    pending = "";
  }
  if (pending !== "") out.push(pending.trim());
  return out;
}

/** `A=1 B="x y"` -> {A: "1", B: "x y"} (only the key=value form). */
function parseEnv(rest: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S+)/g)) {
    vars[m[1] as string] = m[3] ?? (m[2] as string);
  }
  return vars;
}

export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const [instruction = "", ...restParts] = line.split(/\s+/);
    const rest = restParts.join(" ");
    const stage = stages[stages.length - 1];
    switch (instruction.toUpperCase()) {
      case "ARG": {
        const [key = "", value = ""] = rest.split("=");
        args[key] = value;
        break;
      }
      case "FROM": {
        const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
        if (!m) throw new Error(`cannot read FROM ${rest}`);
        const base = (m[1] as string).replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? "");
        stages.push({ name: m[2] ?? String(stages.length), base, steps: [] });
        break;
      }
      default: {
        if (!stage) throw new Error(`${instruction} before FROM`);
        stage.steps.push(parseStep(instruction.toUpperCase(), rest));
      }
    }
  }
  return { args, stages };
}

function parseStep(instruction: string, rest: string): Step {
  switch (instruction) {
    case "COPY": {
      const words = rest.split(/\s+/);
      let from: string | undefined;
      while (words[0]?.startsWith("--")) {
        const flag = words.shift() as string;
        if (flag.startsWith("--from=")) from = flag.slice("--from=".length);
        else if (!flag.startsWith("--chown=") && !flag.startsWith("--chmod=")) {
          throw new Error(`COPY flag ${flag} not understood`);
        }
      }
      const dest = words.pop();
      if (!dest || words.length === 0) throw new Error(`cannot read COPY ${rest}`);
      return { kind: "copy", ...(from ? { from } : {}), sources: words, dest };
    }
    case "RUN": {
      // BuildKit flags (`--mount=type=cache,...`) change caching, not what the command does.
      const command = rest.replace(/^(--\S+\s+)+/, "");
      if (command.startsWith("[")) throw new Error("exec-form RUN not understood");
      return { kind: "run", command };
    }
    case "ENV":
      return { kind: "env", vars: parseEnv(rest) };
    case "WORKDIR":
      return { kind: "workdir", dir: rest };
    case "USER":
      return { kind: "user", user: rest };
    case "CMD":
      return { kind: "cmd", argv: JSON.parse(rest) as string[] };
    case "EXPOSE":
    case "STOPSIGNAL":
    case "LABEL":
      return { kind: "meta", instruction: `${instruction} ${rest}` };
    default:
      throw new Error(`Dockerfile instruction ${instruction} not understood by the test`);
  }
}
