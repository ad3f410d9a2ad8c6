import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hasMalformedText } from "../../src/schema/malformed-text";
import { jsonInputProblem, MAX_JSON_DEPTH } from "../../src/schema/scalars";

function nestedArrays(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

describe("JSON scalar input (HARDENING.md: depth 32, finite numbers up to 2^53, no prototype keys, no malformed text)", () => {
  it("takes 32 levels and refuses 33, a million levels without overflowing the stack", () => {
    assert.equal(MAX_JSON_DEPTH, 32);
    assert.equal(jsonInputProblem(nestedArrays(32, [])), undefined);
    assert.match(jsonInputProblem(nestedArrays(33, []))!, /at most 32 levels/);
    assert.match(jsonInputProblem(nestedArrays(1_000_000, "x"))!, /at most 32 levels/);
    // scalars below the last level are not a level of their own
    assert.equal(jsonInputProblem(nestedArrays(32, 1)), undefined);
  });

  it("refuses numbers that are not finite or past 2^53, and prototype keys at any level", () => {
    for (const n of [NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 60)]) assert.ok(jsonInputProblem({ a: [n] }), String(n));
    assert.equal(jsonInputProblem({ a: [0.5, -(2 ** 53 - 1), 2 ** 53 - 1] }), undefined);
    for (const key of ["__proto__", "constructor", "prototype"]) assert.ok(jsonInputProblem(JSON.parse(`{"a":[{"${key}":1}]}`)), key);
    assert.equal(jsonInputProblem({ proto: 1, constructors: 2 }), undefined);
  });

  it("refuses NUL and lone surrogates in values and keys", () => {
    for (const bad of ["\u0000", "a\ud800", "\udc00b"]) {
      assert.ok(jsonInputProblem({ a: [bad] }));
      assert.ok(jsonInputProblem({ a: { [bad]: 1 } }));
    }
    assert.equal(jsonInputProblem({ emoji: "\ud83d\ude00" }), undefined);
  });

  it("walks a very wide array without overflowing the argument stack", () => {
    const wide = new Array(1_000_000).fill(0);
    assert.equal(hasMalformedText(wide), false);
    assert.equal(jsonInputProblem(wide), undefined);
  });
});
