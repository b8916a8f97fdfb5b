/**
 * THE FLOOR, NOT A PRODUCT PATH. The least a relay between Exotel and an ElevenLabs agent can do:
 * rewrap JSON both ways (Exotel `media` -> `{"user_audio_chunk":...}`, agent `audio` -> Exotel
 * `media`) and answer pings. No resampling, framing, pacing, validation, logging or metrics; audio
 * at the wrong rate or in illegal frame sizes is forwarded as is. It exists only so the benchmark
 * can put the bridge's cost next to the cost of merely moving the bytes, on the same load, with
 * the same WebSocket library and options (ws@8, per-message deflate off). Never deploy it.
 *
 * Env: PORT (listen port), ELEVENLABS_BASE_URL (http://host:port of the agent),
 * ELEVENLABS_AGENT_ID. Serves GET /healthz for the benchmark's readiness check.
 */
import http from "node:http";
import { type RawData, WebSocket, WebSocketServer } from "ws";

const port = Number(process.env.PORT ?? 10003);
const agentUrl = `${(process.env.ELEVENLABS_BASE_URL ?? "http://127.0.0.1:10004").replace(/^http/, "ws")}/v1/convai/conversation?agent_id=${encodeURIComponent(process.env.ELEVENLABS_AGENT_ID ?? "bench")}`;
const SOCKET_OPTIONS = { perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 } as const;

const server = http.createServer((req, res) => {
  res.statusCode = req.url === "/healthz" ? 200 : 404;
  res.end();
});
const wss = new WebSocketServer({ server, path: "/media", ...SOCKET_OPTIONS });

wss.on("connection", (exotel: WebSocket) => {
  let agent: WebSocket | null = null;
  let streamSid = "";
  // Caller audio that arrives while the agent socket opens (the first frames of every call).
  let pending: string[] | null = [];

  const toAgent = (frame: string): void => {
    if (pending !== null) pending.push(frame);
    else if (agent?.readyState === WebSocket.OPEN) agent.send(frame);
  };

  exotel.on("message", (data: RawData) => {
    const msg = JSON.parse(data.toString());
    if (msg.event === "media") {
      toAgent(JSON.stringify({ user_audio_chunk: msg.media.payload }));
    } else if (msg.event === "start") {
      streamSid = msg.stream_sid;
      const ws = new WebSocket(agentUrl, SOCKET_OPTIONS);
      agent = ws;
      ws.on("open", () => {
        ws.send(
          JSON.stringify({
            type: "conversation_initiation_client_data",
            dynamic_variables: { stream_sid: streamSid, call_sid: msg.start.call_sid },
          }),
        );
        for (const frame of pending ?? []) ws.send(frame);
        pending = null;
      });
      ws.on("message", (d: RawData) => {
        const m = JSON.parse(d.toString());
        if (m.type === "audio") {
          exotel.send(
            JSON.stringify({
              event: "media",
              stream_sid: streamSid,
              media: { payload: m.audio_event.audio_base_64 },
            }),
          );
        } else if (m.type === "ping") {
          ws.send(JSON.stringify({ type: "pong", event_id: m.ping_event.event_id }));
        }
      });
      ws.on("close", () => exotel.close());
      ws.on("error", () => exotel.close());
    } else if (msg.event === "stop") {
      agent?.close();
      exotel.close();
    }
  });
  exotel.on("close", () => agent?.close());
  exotel.on("error", () => agent?.close());
});

server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
