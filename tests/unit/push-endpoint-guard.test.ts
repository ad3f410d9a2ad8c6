import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { resolveVapidKeys } from "../../src/auth/vapid-keys";
import { checkLiteralHost, guardedLookup, isInternalAddress } from "../../src/infra/push-endpoint-guard";

describe("the web push endpoint guard (SSRF)", () => {
  it("refuses private, loopback, link-local, CGNAT, multicast and unspecified addresses, IPv4-mapped ones included", () => {
    for (const address of [
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "127.0.0.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "not an address",
    ]) {
      assert.equal(isInternalAddress(address), true, address);
    }
    for (const address of ["8.8.8.8", "172.32.0.1", "142.250.74.10", "2607:f8b0:4004:800::200e", "::ffff:8.8.8.8"]) {
      assert.equal(isInternalAddress(address), false, address);
    }
  });

  it("refuses an IP-literal host before connecting, unless internal addresses are allowed", () => {
    assert.throws(() => checkLiteralHost("127.0.0.1", false), /private, loopback or link-local/);
    assert.throws(() => checkLiteralHost("[::1]", false), /private, loopback or link-local/);
    assert.doesNotThrow(() => checkLiteralHost("127.0.0.1", true));
    assert.doesNotThrow(() => checkLiteralHost("push.example.com", false));
  });

  it("fails the lookup of a name that resolves to an internal address", async () => {
    const lookup = (allow: boolean) =>
      new Promise<unknown>((resolve, reject) => guardedLookup(allow)("localhost", {}, (err, address) => (err ? reject(err) : resolve(address))));
    await assert.rejects(lookup(false), /private, loopback or link-local/);
    assert.equal(isInternalAddress((await lookup(true)) as string), true);
  });
});

describe("VAPID keys", () => {
  it("are generated into DATA_DIR once and read back; given keys win; none on a shared database", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "vapid-"));
    try {
      const config = { push: {}, dataDir };
      const generated = resolveVapidKeys(config);
      assert.equal(Buffer.from(generated.publicKey, "base64url").length, 65);
      assert.deepEqual(resolveVapidKeys(config), generated);
      assert.equal(fs.statSync(path.join(dataDir, "vapid-keys.json")).mode & 0o777, 0o600);
      const given = { publicKey: "B".repeat(87), privateKey: "k".repeat(43) };
      assert.deepEqual(resolveVapidKeys({ push: { vapidPublicKey: given.publicKey, vapidPrivateKey: given.privateKey }, dataDir }), given);
      assert.notDeepEqual(resolveVapidKeys({ push: {}, dataDir: ":memory:" }), generated);
      assert.throws(() => resolveVapidKeys({ push: {}, dataDir, databaseUrl: "postgres://localhost/x" }), /VAPID_PUBLIC_KEY/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
