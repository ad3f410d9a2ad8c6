import dns from "node:dns";
import { BlockList, isIP } from "node:net";

/**
 * The SSRF guard of web push (W5): a subscription's endpoint is a URL a client chose, so the
 * server must not be made to reach into its own network through it. Private, loopback,
 * link-local, CGNAT, multicast and unspecified addresses are refused, for IPv4, IPv6 and
 * IPv4-mapped IPv6 alike.
 */
const internal = new BlockList();
for (const [address, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  internal.addSubnet(address, prefix, "ipv4");
}
for (const [address, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96],
] as const) {
  internal.addSubnet(address, prefix, "ipv6");
}

/** True when `address` (an IP literal) is one the server must not deliver to. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return internal.check(address, "ipv4");
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return internal.check(mapped[1], "ipv4");
  return internal.check(address, "ipv6");
}

/** Thrown (as a connection error) when an endpoint's host is or resolves to an internal address. */
export class InternalEndpointError extends Error {
  readonly code = "EPUSHINTERNAL";
  constructor(host: string) {
    super(`push endpoint ${host} resolves to a private, loopback or link-local address`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for the push agent: resolves the host once and refuses it when any of its
 * addresses is internal; the socket then connects to the address checked here, so a DNS
 * answer that changes between a check and the connect (rebinding) cannot get through.
 */
export function guardedLookup(allowInternal: boolean) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (!allowInternal && addresses.some((a) => isInternalAddress(a.address))) return callback(new InternalEndpointError(hostname), []);
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Refuses an IP-literal endpoint host (sockets connect to those without a lookup). */
export function checkLiteralHost(hostname: string, allowInternal: boolean): void {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) && !allowInternal && isInternalAddress(host)) throw new InternalEndpointError(host);
}
