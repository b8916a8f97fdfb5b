/**
 * The live call console's public surface: the feed a call publishes into, the route that serves
 * it, and the event types.
 */

export type { ConsoleConfig } from "../config/console.js";
export { type CallParties, callEndedEvent, callStartedEvent } from "./adapters.js";
export { consoleObserver } from "./call-observer.js";
export type * from "./events.js";
export { type ConsoleClient, ConsoleFeed, type ConsoleLimits, DEFAULT_CONSOLE_LIMITS } from "./feed.js";
export { CONSOLE_PATH, mountConsole } from "./route.js";
