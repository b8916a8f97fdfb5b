/** What the scripted agent says: the shipped spoken prompts and the text of an interrupted reply. */
import { fileURLToPath } from "node:url";
import { readMonoWav } from "../wav.js";
import type { ScriptPrompts, Utterance } from "./types.js";

const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));

let shipped: ScriptPrompts | undefined;

/** The shipped spoken prompts (generated with espeak-ng; see fixtures/README.md), loaded once per process. */
export function shippedPrompts(): ScriptPrompts {
  shipped ??= loadShippedPrompts();
  return shipped;
}

function loadShippedPrompts(): ScriptPrompts {
  const load = (name: string, text: string): Utterance => {
    const wav = readMonoWav(`${FIXTURES}agent-prompt-${name}-16k.wav`);
    return { text, pcm: wav.pcm, sampleRate: wav.sampleRate };
  };
  return {
    greeting: load("greeting", "Hello, this is the local test agent. How can I help you?"),
    replies: [
      load(
        "order-status",
        "Your order four five six seven was shipped yesterday, and it will arrive on Friday. Is there anything else I can help you with?",
      ),
      load("anything-else", "Is there anything else I can help you with?"),
    ],
    afterInterruption: load("go-ahead", "Sorry, go ahead. I am listening."),
    afterUserMessage: load("digits", "Thank you, I got the digits you entered."),
    goodbye: load("goodbye", "Thank you for calling. Goodbye!"),
  };
}

/** Shortens `text` to about `fraction` of its words, for agent_response_correction. */
export function truncateWords(text: string, fraction: number): string {
  const words = text.split(/\s+/).filter(Boolean);
  const keep = Math.max(0, Math.min(words.length, Math.floor(words.length * fraction)));
  return keep === 0 ? "..." : `${words.slice(0, keep).join(" ")}...`;
}
