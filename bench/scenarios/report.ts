import type { Scenario } from "../lib/scenario";
export const remote = {};
export const report: Scenario = { name: "report", async run() { return "not written yet"; } };
