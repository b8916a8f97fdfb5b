/**
 * StateStore on Redis (Memorystore in production), so that whichever Cloud Run instance Exotel's
 * HTTP request lands on reads the state the call's instance wrote. `SET key value PX ttl`, `GET`,
 * `DEL`, nothing else. Client: `@redis/client` (the core of node-redis, no dependencies).
 *
 * Failure policy: commands are not queued while disconnected (`disableOfflineQueue`), and every
 * command is bounded by the caller's timeout, so a sick Redis makes a lookup fail fast instead of
 * holding a call's setup; the client reconnects in the background with capped backoff. The URL
 * (which may carry the AUTH string) is never logged.
 */
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import type { createClient } from "@redis/client";
import type { Logger } from "../../log.js";
import type { StateStore } from "./store.js";

export interface RedisStoreOptions {
  readonly url: string;
  /** Prepended to every key, so several deployments can share one instance. */
  readonly keyPrefix: string;
  readonly log: Logger;
  readonly connectTimeoutMs?: number;
  /** PEM of the CA that signs the server's certificate (rediss:// only); else Node's public CAs. */
  readonly caCert?: string;
}

/**
 * Hostname check for a TLS Redis reached by IP address. Memorystore for Redis (in-transit encryption)
 * is addressed by its private IP and its server certificate names that IP in the subject CN rather
 * than in a subjectAltName, while Node matches an IP only against IP SANs. So: Node's own check
 * first; if it fails for an IP host, accept a certificate with no IP SAN at all whose CN is exactly
 * that IP. The chain is still verified against the instance's CA, so the server stays authenticated.
 */
export function redisServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const err = checkServerIdentity(host, cert);
  if (err === undefined || isIP(host) === 0) return err;
  const hasIpSan = (cert.subjectaltname ?? "").split(", ").some((n) => n.startsWith("IP Address:"));
  const cn = cert.subject?.CN;
  return !hasIpSan && cn === host ? undefined : err;
}

type Client = ReturnType<typeof createClient>;

export class RedisStore implements StateStore {
  readonly kind = "redis";
  private client: Client | null = null;
  private readonly clientReady: Promise<Client>;
  /** Settles on the first connection or the first failure, whichever comes first. */
  private readonly firstAttempt: Promise<void>;
  private settleFirst: () => void = () => {};
  private readonly prefix: string;
  private readonly log: Logger;
  private reportedDown = false;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.keyPrefix;
    this.log = options.log;
    this.firstAttempt = new Promise<void>((resolve) => {
      this.settleFirst = resolve;
    });
    const tls = new URL(options.url).protocol === "rediss:";
    // Loaded here, not imported at the top (only its type is): the client library is ~5 MB of heap,
    // which a bridge without REDIS_URL never pays for.
    this.clientReady = import("@redis/client").then(({ createClient }) => {
      const client = createClient({
        url: options.url,
        disableOfflineQueue: true,
        socket: {
          connectTimeout: options.connectTimeoutMs ?? 5000,
          // 100 ms, 200 ms, ... capped at 3 s; never give up (the service keeps running without state).
          reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 3000),
          ...(tls && {
            tls: true as const,
            checkServerIdentity: redisServerIdentity,
            ...(options.caCert !== undefined && { ca: options.caCert }),
          }),
        },
      }) as Client;
      this.client = client;
      client.on("error", this.onError);
      client.on("ready", this.onReady);
      if (!this.closed) {
        client.connect().catch((err: unknown) => {
          this.onError(err as Error);
        });
      }
      return client;
    });
  }

  /** Resolves once the first connection is up, or has failed (and is being retried in the background). */
  ready(): Promise<void> {
    return this.firstAttempt;
  }

  get isReady(): boolean {
    return this.client?.isReady ?? false;
  }

  async get(key: string): Promise<string | undefined> {
    const v = await (await this.clientReady).get(this.prefix + key);
    return v === null ? undefined : String(v);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await (await this.clientReady).set(this.prefix + key, value, {
      expiration: { type: "PX", value: Math.max(1, Math.round(ttlMs)) },
    });
  }

  async delete(key: string): Promise<void> {
    await (await this.clientReady).del(this.prefix + key);
  }

  /** GETDEL (Redis 6.2+; Memorystore runs 7.x): atomic, so a token is honoured once across instances. */
  async take(key: string): Promise<string | undefined> {
    const v = await (await this.clientReady).getDel(this.prefix + key);
    return v === null ? undefined : String(v);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const client = await this.clientReady;
    try {
      if (client.isOpen) await client.close();
      else client.destroy();
    } catch {
      client.destroy();
    }
  }

  private readonly onError = (err: Error): void => {
    this.settleFirst();
    if (this.closed || this.reportedDown) return;
    // Once per outage: the client reports every reconnect attempt.
    this.reportedDown = true;
    this.log.error(
      {
        event: "state_store_down",
        store: "redis",
        err: { message: err.message, code: (err as { code?: string }).code },
      },
      "Redis unreachable: per-call state (transfers, outbound plans) unavailable until it is back",
    );
  };

  private readonly onReady = (): void => {
    this.settleFirst();
    if (this.reportedDown)
      this.log.info({ event: "state_store_up", store: "redis" }, "Redis reachable again");
    else this.log.info({ event: "state_store_ready", store: "redis" }, "connected to Redis");
    this.reportedDown = false;
  };
}
