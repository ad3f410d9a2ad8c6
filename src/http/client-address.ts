import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";
import type { TrustProxy } from "../config";

/** Whether the address `hop` steps from us (0: the socket's peer) is a proxy we trust. */
export type TrustFunction = (address: string, hop: number) => boolean;

/** TRUST_PROXY as Express's `trust proxy` function, so req.ip and clientAddress agree. */
export function trustFunction(trust: TrustProxy): TrustFunction {
  if (typeof trust === "boolean") return () => trust;
  if (typeof trust === "number") return (_address, hop) => hop < trust;
  const proxies = new BlockList();
  for (const cidr of trust) {
    const [address, prefix] = cidr.split("/");
    const family = isIP(address) === 4 ? "ipv4" : "ipv6";
    proxies.addSubnet(address, Number(prefix), family);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && proxies.check(address, family === 4 ? "ipv4" : "ipv6");
  };
}

/**
 * The client's address for per-IP limits (RULES.md "Clients behind proxies"), HTTP and
 * WebSocket alike: the socket's peer, unless TRUST_PROXY trusts it; then X-Forwarded-For is
 * walked from the right (the entry our own proxy appended) past every trusted proxy, and the
 * first untrusted address is the client. What an untrusted peer puts in the header is never
 * read, so forging it changes nothing.
 */
export function clientAddress(request: IncomingMessage, trust: TrustFunction): string | undefined {
  let address = normalize(request.socket.remoteAddress);
  if (address === undefined) return undefined;
  const header = request.headers["x-forwarded-for"];
  const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .reverse();
  for (let hop = 0; hop < forwarded.length && trust(address, hop); hop++) address = normalize(forwarded[hop])!;
  return address;
}

/** An IPv4 peer of a dual-stack socket arrives as ::ffff:a.b.c.d; count it as a.b.c.d. */
function normalize(address: string | undefined): string | undefined {
  const mapped = address && /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}
