import type { Scenario } from "../lib/scenario";
export const remote = {};
export const connections: Scenario = { name: "connections", async run() { return "not written yet"; } };
