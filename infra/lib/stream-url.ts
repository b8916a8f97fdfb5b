// The URL to paste into Exotel's Voicebot applet. Exotel dials the bridge over TLS WebSocket on
// the `/media` route; `sample-rate` (8000, 16000 or 24000) asks Exotel for that PCM rate and the
// bridge reads it from the query string (README.md, "Exotel setup").

/** `https://host` (Cloud Run's service URI) -> `wss://host/media[?sample-rate=n]`. */
export function exotelStreamUrl(serviceUri: string, sampleRate?: number): string {
  const url = new URL(serviceUri);
  if (url.protocol !== "https:") throw new Error(`expected an https:// service URI, got ${serviceUri}`);
  url.protocol = "wss:";
  url.pathname = "/media";
  url.search = "";
  url.hash = "";
  if (sampleRate !== undefined) url.searchParams.set("sample-rate", String(sampleRate));
  return url.toString();
}
