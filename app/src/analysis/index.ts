/**
 * Post-call analysis: ElevenLabs' post-call webhook, verified and joined to the Exotel call.
 *
 *   const analysis = new PostCallAnalysis({ config: config.analysis, log, registry: metrics.registry });
 *   analysis.mount(app);                    // POST /webhooks/elevenlabs/post-call
 *   hooks = analysis.withHooks(hooks);      // remembers conversation_id -> call_sid as calls end
 *
 * Code that ends calls some other way can call `analysis.conversations.rememberConversation(id, sid)`.
 */
export {
  ANALYSIS_ENV,
  ANALYSIS_SECRET_ENV,
  type AnalysisConfig,
  analysisConfig,
} from "../config/analysis.js";
export { ConversationIndex } from "./conversations.js";
export type { CallAnalysisRecord } from "./payload.js";
export { SIGNATURE_HEADER, signBody, verifySignature } from "./signature.js";
export { POST_CALL_WEBHOOK_PATH, PostCallAnalysis, type WebhookResult } from "./webhook.js";
