/**
 * HTTP surface of the live call console:
 *   GET /console          the page (HTML)
 *   GET /console/app.js, /console/app.css, /console/favicon.svg   its script, stylesheet and icon
 *   GET /console/events   server-sent events: a snapshot, then every ConsoleEvent as it happens
 * All behind HTTP Basic auth (a 401 with WWW-Authenticate makes a browser ask for it), compared in
 * constant time, refusals without detail. No credential configured = none of these paths exist.
 * Every answer is no-store (call data must not sit in caches) and the page runs under a CSP that
 * allows only its own script and stylesheet: no inline code, no other origin, no framing.
 */
import type { IncomingMessage } from "node:http";
import type express from "express";
import type { ConsoleConfig } from "../config/console.js";
import type { Logger } from "../log.js";
import { LogRateLimiter } from "../log.js";
import { basicAuthMatches } from "../upgrade.js";
import type { ConsoleClient, ConsoleFeed } from "./feed.js";
import { CONSOLE_CSS } from "./page-css.js";
import { CONSOLE_HTML, CONSOLE_ICON } from "./page-html.js";
import { CONSOLE_JS } from "./page-js.js";

export const CONSOLE_PATH = "/console";

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const COMMON_HEADERS: Readonly<Record<string, string>> = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Content-Security-Policy": CSP,
};

const REALM = 'Basic realm="exotel-bridge console", charset="UTF-8"';

/**
 * Adds the console's routes to `app` when `config.basicAuth` is set; otherwise adds nothing, so
 * its paths fall through to the bridge's plain 404.
 */
export function mountConsole(
  app: express.Express,
  config: ConsoleConfig,
  feed: ConsoleFeed,
  log: Logger,
): void {
  const credential = config.basicAuth;
  if (credential === undefined) return;
  const refusalLog = new LogRateLimiter(1, 10);

  const authorized = (req: IncomingMessage, res: express.Response): boolean => {
    res.set(COMMON_HEADERS);
    if (basicAuthMatches(req.headers.authorization, credential)) return true;
    if (req.headers.authorization !== undefined && refusalLog.allow()) {
      log.warn(
        { event: "console_auth_refused", remote: req.socket.remoteAddress },
        "refused a console request (bad Basic credential)",
      );
    }
    res.status(401).set("WWW-Authenticate", REALM).type("text/plain").send("Unauthorized");
    return false;
  };

  const asset = (path: string, type: string, body: string) => {
    app.get(path, (req, res) => {
      if (authorized(req, res)) res.type(type).send(body);
    });
  };
  asset(CONSOLE_PATH, "text/html; charset=utf-8", CONSOLE_HTML);
  asset(`${CONSOLE_PATH}/app.js`, "text/javascript; charset=utf-8", CONSOLE_JS);
  asset(`${CONSOLE_PATH}/app.css`, "text/css; charset=utf-8", CONSOLE_CSS);
  asset(`${CONSOLE_PATH}/favicon.svg`, "image/svg+xml", CONSOLE_ICON);

  app.get(`${CONSOLE_PATH}/events`, (req, res) => {
    if (!authorized(req, res)) return;
    if (feed.clientCount >= feed.limits.maxClients) {
      res.status(503).type("text/plain").send("Service Unavailable");
      return;
    }
    res.status(200).set({
      "Content-Type": "text/event-stream; charset=utf-8",
      // Proxies that buffer responses (nginx) would hold events back.
      "X-Accel-Buffering": "no",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    res.flushHeaders();
    req.socket.setNoDelay(true);
    const client: ConsoleClient = {
      write: (frame) => {
        if (res.destroyed || res.writableEnded) return 0;
        res.write(frame);
        return res.writableLength;
      },
      close: () => {
        res.destroy();
      },
    };
    res.on("close", () => feed.unsubscribe(client));
    if (!feed.subscribe(client)) {
      res.destroy();
      return;
    }
    log.debug({ event: "console_client", clients: feed.clientCount }, "console viewer connected");
  });
}
