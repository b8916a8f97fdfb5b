/**
 * SIMULATED EXOTEL: places a call against any bridge URL as Exotel's Voicebot applet would and
 * measures what comes back. Written from Exotel's stream documentation, independently of the
 * bridge's code (nothing from app/src), so a misreading of the protocol in the bridge is not
 * silently shared by the tool that tests it.
 *
 * One job per module (scripts/lib/exotel-caller/): socket.ts (the stream, frame by frame),
 * timeline.ts (the caller's audio and DTMF script), player.ts (Exotel's playout, clear, marks,
 * frame rules), call.ts (the whole call), report.ts (report, recording, saving), types.ts.
 *
 *   const { report, audio } = await placeCall({ url: "ws://127.0.0.1:10002/media", sampleRate: 8000,
 *     audio: [{ wav: "fixtures/caller-order-status-8k.wav", atMs: 1000 }], hangupAfterMs: 15000 });
 *   saveCall({ report, audio }, "out", "call");
 */

export {
  type FlowOptions,
  type FlowResult,
  type FlowStep,
  followFlowAfterStream,
} from "./exotel-caller/applets.js";
export { ExotelCall, placeCall, startCall } from "./exotel-caller/call.js";
export { saveCall, stereoRecording } from "./exotel-caller/report.js";
export {
  dialUrl,
  ExotelConnectError,
  type ExotelSampleRate,
  ExotelSocket,
  type ExotelSocketOptions,
  FRAME_UNIT_MS,
  MAX_FRAME_BYTES,
  MIN_FRAME_BYTES,
  type ReceivedFrame,
  type SocketClose,
} from "./exotel-caller/socket.js";
export { buildCallerTimeline, type CallerAudio, type DtmfEntry } from "./exotel-caller/timeline.js";
export type {
  CallAudio,
  CallEvent,
  CallOptions,
  CallReport,
  CallResult,
  CallTurn,
  FrameViolation,
} from "./exotel-caller/types.js";
