import type { Scenario } from "../lib/scenario";
export const remote = {};
export const seek: Scenario = { name: "seek", async run() { return "not written yet"; } };
