/**
 * Answers for MCP tool calls that wait for the client's approval (docs/protocols.md, "MCP tool
 * approval"). A phone caller cannot approve anything, and an unanswered request stalls the agent
 * for `approval_timeout_secs` (300 s by default), so every such request gets an answer at once,
 * decided by configuration: deny unless told otherwise.
 */
import type { McpToolCallEvent } from "./messages.js";

export type McpApprovalPolicy =
  | { readonly mode: "deny" }
  | { readonly mode: "allow" }
  /** Approves only the tools named (by `tool_name`, or `service_id/tool_name` for one server). */
  | { readonly mode: "allow_listed"; readonly tools: ReadonlySet<string> };

export const DEFAULT_MCP_APPROVAL_POLICY: McpApprovalPolicy = Object.freeze({ mode: "deny" });

const MAX_LISTED_TOOLS = 64;
const TOOL_NAME_RE = /^[A-Za-z0-9_.:/-]{1,128}$/;

/**
 * Reads a policy from configuration text: `deny`, `allow`, or `allow:tool_a,tool_b`.
 * Undefined or empty text is the default (deny); anything unreadable returns an error message.
 */
export function parseMcpApprovalPolicy(textValue: string | undefined): McpApprovalPolicy | string {
  const t = (textValue ?? "").trim();
  if (t === "" || t === "deny") return DEFAULT_MCP_APPROVAL_POLICY;
  if (t === "allow") return Object.freeze({ mode: "allow" });
  if (t.startsWith("allow:")) {
    const names = t
      .slice("allow:".length)
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n !== "");
    if (names.length === 0) return "allow: needs at least one tool name";
    if (names.length > MAX_LISTED_TOOLS) return `at most ${MAX_LISTED_TOOLS} tool names`;
    const bad = names.find((n) => !TOOL_NAME_RE.test(n));
    if (bad !== undefined) return "tool names are letters, digits and _ . : / - (at most 128)";
    return Object.freeze({ mode: "allow_listed", tools: new Set(names) });
  }
  return "expected deny, allow, or allow:<tool>,<tool>";
}

export interface McpApprovalDecision {
  readonly approve: boolean;
  /** For the log line that records every decision. */
  readonly reason: "policy_deny" | "policy_allow" | "tool_listed" | "tool_not_listed";
}

/**
 * The answer to send for `event`, or null when the event asks for none (any state other than
 * `awaiting_approval`). Send it with mcpToolApprovalFrame(event.toolCallId, decision.approve).
 */
export function decideMcpApproval(
  policy: McpApprovalPolicy,
  event: McpToolCallEvent,
): McpApprovalDecision | null {
  if (event.state !== "awaiting_approval") return null;
  switch (policy.mode) {
    case "deny":
      return { approve: false, reason: "policy_deny" };
    case "allow":
      return { approve: true, reason: "policy_allow" };
    case "allow_listed": {
      const listed =
        policy.tools.has(event.toolName) || policy.tools.has(`${event.serviceId}/${event.toolName}`);
      return listed
        ? { approve: true, reason: "tool_listed" }
        : { approve: false, reason: "tool_not_listed" };
    }
  }
}
