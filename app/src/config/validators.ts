/**
 * Checks shared by everything that reads a value from outside: environment variables (../config.ts,
 * ./control.ts), the routing table and `POST /calls` (control/routing/schemas.ts). One definition
 * each, so the environment, a route and a request accept and refuse exactly the same things.
 * Each check returns a problem ("must be ...") or undefined.
 */

/** ElevenLabs agent ids: letters, digits, `_` and `-`. */
export const AGENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
export const AGENT_ID_PROBLEM = "must be an agent id (letters, digits, _ and -)";

/** ElevenLabs voice ids. */
export const VOICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const VOICE_ID_PROBLEM = "must be a voice id";

/** Language codes as ElevenLabs agents take them: `hi`, `en`, `pt-BR`. */
export const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z]{2,4})?$/;
export const LANGUAGE_PROBLEM = "must be a language code such as hi or en";

/** Phone numbers as Exotel writes them: optional +, 6 to 15 digits. */
export const PHONE = /^\+?[0-9]{6,15}$/;

/** ElevenLabs dynamic-variable names as their prompts reference them: `{{customer_name}}`. */
export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** `*` or a comma-separated list of agent ids (blank entries are ignored). */
export function agentIdList(v: string): string | undefined {
  return v.trim() === "*" || v.split(",").every((s) => s.trim() === "" || AGENT_ID.test(s.trim()))
    ? undefined
    : "must be * or a comma-separated list of agent ids";
}

/**
 * A plain http(s) URL: no query, fragment or credentials (those belong elsewhere, and a credential
 * in a URL ends up in logs). `noun` names what the variable is ("URL", "origin").
 */
export function httpUrl(
  v: string,
  options: { readonly httpsOnly?: boolean; readonly noun?: string } = {},
): string | undefined {
  const noun = options.noun ?? "URL";
  const shape = options.httpsOnly ? `must be an https:// ${noun}` : `must be an http(s):// ${noun}`;
  try {
    const u = new URL(v);
    if (u.protocol !== "https:" && (options.httpsOnly || u.protocol !== "http:")) return shape;
    if (u.search || u.hash || u.username || u.password)
      return `must be a plain ${noun} (no query, fragment or credentials)`;
    return undefined;
  } catch {
    return shape;
  }
}

/** An IANA time zone this Node.js knows (`Asia/Kolkata`). */
export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
