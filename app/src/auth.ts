/**
 * Credential checks shared by every protected surface (the Exotel upgrade, /metrics, /health/details,
 * and later the console). Each presented secret is compared with the expected one through SHA-256
 * digests of equal length, so neither the content nor the length of the expected secret leaks through
 * timing. Refusals say nothing beyond the status.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, Response } from "express";

function digest(value: string | Buffer): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Constant-time equality of a presented secret and the expected one. */
export function secretEquals(presented: string | Buffer | undefined, expected: string): boolean {
  // Hash even when nothing was presented, so a missing header costs the same as a wrong one.
  const got = digest(presented ?? "");
  return timingSafeEqual(got, digest(expected)) && presented !== undefined;
}

/** `Authorization: Basic base64(user:pass)` equal to `expected` (`user:pass`). */
export function basicMatches(header: string | undefined, expected: string): boolean {
  const m = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  return secretEquals(m ? Buffer.from(m[1] as string, "base64") : undefined, expected);
}

/** `Authorization: Bearer <token>` equal to `expected`. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return secretEquals(m ? (m[1] as string) : undefined, expected);
}

/** What a protected route accepts; an empty policy accepts nobody (closed by default). */
export interface CredentialPolicy {
  /** Bearer token accepted. */
  readonly bearer?: string | undefined;
  /** `user:pass` accepted as Basic auth. */
  readonly basic?: string | undefined;
  /** Lets a request through without a credential (e.g. an in-instance collector by address). */
  readonly exempt?: ((req: IncomingMessage) => boolean) | undefined;
  /** Realm in the 401 challenge. */
  readonly realm: string;
}

export function isAuthorized(req: IncomingMessage, policy: CredentialPolicy): boolean {
  const header = req.headers.authorization;
  // Evaluate both configured checks so the answer time does not say which scheme was configured.
  const bearer = policy.bearer !== undefined && bearerMatches(header, policy.bearer);
  const basic = policy.basic !== undefined && basicMatches(header, policy.basic);
  return bearer || basic || (policy.exempt?.(req) ?? false);
}

/** The challenge a 401 carries: Basic when Basic is accepted (browsers prompt), else Bearer. */
export function challenge(policy: CredentialPolicy): string {
  return policy.basic !== undefined
    ? `Basic realm="${policy.realm}", charset="UTF-8"`
    : `Bearer realm="${policy.realm}"`;
}

/** Express middleware: 401 with a bare challenge unless `policy` accepts the request. */
export function requireCredential(policy: CredentialPolicy) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (isAuthorized(req, policy)) {
      next();
      return;
    }
    res.status(401).set("WWW-Authenticate", challenge(policy)).type("text/plain").send("Unauthorized");
  };
}
