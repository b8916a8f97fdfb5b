/**
 * The wss:// stream URLs the bridge hands to Exotel: in dynamic-URL answers and as the StreamUrl of
 * outbound calls placed in direct mode.
 */

/**
 * `wss://[key:token@]host/media?sample-rate=...&<params>` from the public base URL
 * (`http://` gives `ws://`, for tests).
 */
export function streamUrl(
  publicBaseUrl: string,
  basicAuth: string | undefined,
  sampleRate: number,
  params: Readonly<Record<string, string>>,
): string {
  const u = new URL(publicBaseUrl);
  u.protocol = u.protocol === "http:" ? "ws:" : "wss:";
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/media`;
  if (basicAuth !== undefined) {
    const i = basicAuth.indexOf(":");
    u.username = encodeURIComponent(basicAuth.slice(0, i));
    u.password = encodeURIComponent(basicAuth.slice(i + 1));
  }
  u.searchParams.set("sample-rate", String(sampleRate));
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

/** The same URL with the credential masked, for logs. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "***";
      u.password = "***";
    }
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}
