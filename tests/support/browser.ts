import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

/** System Chromium (Debian `chromium` package). Tests never download a browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** True when the system Chromium used by browser tests is installed. */
export function browserAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Launches headless system Chromium via playwright-core.
 * The flags keep it offline-friendly and quiet: no sandbox (containers, root),
 * no GPU, and no background/update/sync traffic that would hit the network.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-quic",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}
