import { request } from "../api/client";
import { humanMessage } from "../api/errors";
import { h } from "../dom";
import { ReportDocument } from "../generated/graphql";
import { showNotice } from "../notice";

/** How many buckets the activity chart aims for, whatever the lesson's length. */
const BUCKETS = 30;

/** The host's report: attendance and a bar chart of timeline activity per bucket. */
export async function reportView(root: HTMLElement, sessionId: string): Promise<void> {
  // A first read for the duration, so that the buckets fit the lesson.
  const probe = await request(ReportDocument, { id: sessionId, bucketSizeMs: 60_000 }, { network: true });
  const durationMs = (probe.data?.session?.report?.durationSeconds ?? 0) * 1000;
  const bucketSizeMs = Math.max(1_000, Math.ceil(durationMs / BUCKETS / 1000) * 1000);
  const result = bucketSizeMs === 60_000 ? probe : await request(ReportDocument, { id: sessionId, bucketSizeMs }, { network: true });
  const report = result.data?.session?.report;
  if (!report) {
    showNotice(result.data?.session ? "Only the host can read this lesson's report." : humanMessage(result.error));
    root.replaceChildren(h("p", {}, h("a", { href: `#/replay/${sessionId}` }, "Back to the replay")));
    return;
  }
  const buckets = report.timelineBuckets;
  const chart = h("canvas", {
    class: "chart",
    width: 800,
    height: 240,
    "data-testid": "report-chart",
    "data-buckets": buckets.length,
    role: "img",
    "aria-label": "Activity over the lesson",
  });
  const ctx = chart.getContext("2d")!;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const barWidth = 800 / Math.max(1, buckets.length);
  ctx.fillStyle = "#f6f8fa";
  ctx.fillRect(0, 0, 800, 240);
  ctx.fillStyle = "#1f6feb";
  buckets.forEach((bucket, i) => {
    const height = (bucket.count / max) * 220;
    ctx.fillRect(i * barWidth + 2, 240 - height, Math.max(1, barWidth - 4), height);
  });
  chart.dataset.drawn = "true";

  root.replaceChildren(
    h(
      "div",
      { class: "report", "data-testid": "report" },
      h("h1", {}, `${probe.data?.session?.title || "Lesson"}: report`),
      h("p", {}, `Duration ${Math.round(report.durationSeconds / 60)} min (${report.durationSeconds} s) · buckets of ${bucketSizeMs / 1000} s`),
      chart,
      h("h2", {}, "Attendance"),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, ...["Name", "Role", "Time (s)", "Board", "Chat", "Joins", "Reconnects"].map((t) => h("th", {}, t)))),
        h(
          "tbody",
          {},
          ...report.attendance.map((a) =>
            h(
              "tr",
              {},
              ...[a.user.displayName, a.role.toLowerCase(), a.totalTimeSeconds, a.boardEventCount, a.chatMessageCount, a.joinCount, a.reconnectCount].map((v) =>
                h("td", {}, v),
              ),
            ),
          ),
        ),
      ),
      h("p", {}, h("a", { href: `#/replay/${sessionId}` }, "Back to the replay")),
    ),
  );
}
