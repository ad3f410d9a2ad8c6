import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { ConfigError, loadConfig, parseTrustProxy } from "../../src/config";
import { clientAddress, trustFunction } from "../../src/http/client-address";

const request = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} }) as unknown as IncomingMessage;

describe("TRUST_PROXY and the client address", () => {
  it("reads unset, booleans, hop counts, CIDRs and Express's range names; names the variable when wrong", () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(parseTrustProxy("true"), true);
    assert.equal(parseTrustProxy("0"), false);
    assert.equal(parseTrustProxy("2"), 2);
    assert.deepEqual(parseTrustProxy("10.0.0.0/8, 192.0.2.1,loopback"), ["10.0.0.0/8", "192.0.2.1/32", "127.0.0.0/8", "::1/128"]);
    for (const bad of ["10.0.0.0/33", "proxy.example", "1.2.3.4/8/1", "-1"]) {
      assert.throws(
        () => loadConfig({ TRUST_PROXY: bad }),
        (err: Error) => err instanceof ConfigError && /TRUST_PROXY/.test(err.message),
        bad,
      );
    }
  });

  it("is the peer unless trusted, then the first untrusted address from the right of X-Forwarded-For", () => {
    const none = trustFunction(false);
    assert.equal(clientAddress(request("::ffff:192.0.2.9", "203.0.113.1"), none), "192.0.2.9");
    const hops = trustFunction(1);
    assert.equal(clientAddress(request("10.0.0.1", "6.6.6.6, 203.0.113.1"), hops), "203.0.113.1");
    const cidrs = trustFunction(parseTrustProxy("10.0.0.0/8"));
    assert.equal(clientAddress(request("10.0.0.1", "6.6.6.6, 203.0.113.1, 10.0.0.2"), cidrs), "203.0.113.1");
    assert.equal(clientAddress(request("192.0.2.9", "203.0.113.1"), cidrs), "192.0.2.9", "an untrusted peer's header is not read");
    assert.equal(clientAddress(request("10.0.0.1"), cidrs), "10.0.0.1", "a trusted peer without the header is the client");
  });
});
