import type { Scenario } from "../lib/scenario";
export const remote = {};
export const query: Scenario = { name: "query", async run() { return "not written yet"; } };
