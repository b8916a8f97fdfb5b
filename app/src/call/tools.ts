/**
 * Client tools: functions the agent can call on the bridge mid-call (`client_tool_call`), each
 * answered with `client_tool_result`. Register one with `tools.register(name, handler)`; the
 * handler gets the tool's parameters and the call's identity and returns the result string the
 * agent reads. A handler that throws or overruns its timeout produces an error result, so the
 * agent never waits forever; an unknown tool gets an error result too.
 */
import type { Logger } from "../log.js";
import type { CallInfo } from "./hooks.js";

/** What a tool may do to its call. */
export interface CallControl {
  /**
   * End the call once the agent has finished speaking: its queued audio has played and it has been
   * quiet for a moment (so "let me transfer you now" is heard in full). Bounded: ends anyway after
   * `maxWaitMs`. Closing the Exotel stream moves the flow to its next applet (Connect, Passthru...).
   */
  endWhenAgentDone(reason: "agent_transfer" | "agent_end_call", detail?: string, maxWaitMs?: number): void;
}

export interface ToolContext {
  readonly callSid: string;
  readonly streamSid: string;
  readonly log: Logger;
  readonly info: CallInfo;
  readonly call: CallControl;
}

export type ClientToolHandler = (
  parameters: Readonly<Record<string, unknown>>,
  context: ToolContext,
) => Promise<string> | string;

export interface ToolResult {
  readonly result: string;
  readonly isError: boolean;
}

export const DEFAULT_TOOL_TIMEOUT_MS = 5000;

export class ClientToolRegistry {
  private readonly handlers = new Map<string, ClientToolHandler>();

  constructor(private readonly timeoutMs: number = DEFAULT_TOOL_TIMEOUT_MS) {}

  register(name: string, handler: ClientToolHandler): this {
    this.handlers.set(name, handler);
    return this;
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  /** Never rejects. */
  async run(
    name: string,
    parameters: Readonly<Record<string, unknown>>,
    context: ToolContext,
  ): Promise<ToolResult> {
    const handler = this.handlers.get(name);
    if (handler === undefined)
      return { result: `Tool "${name}" is not available on this line.`, isError: true };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ToolResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ result: `Tool "${name}" timed out after ${this.timeoutMs} ms.`, isError: true }),
        this.timeoutMs,
      );
    });
    const work = (async (): Promise<ToolResult> => {
      try {
        const result = await handler(parameters, context);
        return { result: String(result), isError: false };
      } catch (err) {
        return { result: `Tool "${name}" failed: ${(err as Error)?.message ?? "error"}`, isError: true };
      }
    })();
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
