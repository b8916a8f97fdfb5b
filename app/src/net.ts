/**
 * Caller-address checks for the upgrade: CIDR allow-lists on Node's own `net.BlockList` (no
 * dependency needed), and the client address behind a known number of trusted proxies.
 */
import { BlockList, isIP } from "node:net";

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

export function parseCidr(text: string): Cidr | undefined {
  const [address = "", prefixText] = text.split("/");
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  )
    return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

export function buildAllowList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c) list.addSubnet(c.address, c.prefix, c.family);
  }
  return list;
}

/** `::ffff:1.2.3.4` -> `1.2.3.4`, so IPv4 ranges match IPv4 clients on dual-stack sockets. */
export function normalizeAddress(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The client's address: the socket peer when no proxy is trusted; otherwise the X-Forwarded-For
 * entry appended by the outermost trusted proxy (each proxy appends what it saw, so with N trusted
 * proxies the client is the N-th entry from the right). Entries further left are client-supplied
 * and never trusted. Undefined when the header is missing or malformed.
 */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedHops: number,
): string | undefined {
  if (trustedHops === 0) return remoteAddress === undefined ? undefined : normalizeAddress(remoteAddress);
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor;
  if (header === undefined) return undefined;
  const hops = header
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  const entry = hops[hops.length - trustedHops];
  if (entry === undefined || isIP(entry) === 0) return undefined;
  return normalizeAddress(entry);
}

export function isAllowed(list: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const v = isIP(address);
  return v !== 0 && list.check(address, v === 4 ? "ipv4" : "ipv6");
}
