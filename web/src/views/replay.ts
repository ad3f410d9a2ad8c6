import { auth, request } from "../api/client";
import { humanMessage } from "../api/errors";
import { BoardCanvas } from "../board/canvas";
import { applyEvent, boardContent, boardFromState, type Board } from "../board/model";
import { h } from "../dom";
import { ReplayBoardAtDocument, ReplayEventsDocument, ReplayInfoDocument } from "../generated/graphql";
import { showNotice } from "../notice";

/** Playback runs this many times faster than the lesson did. */
const PLAY_SPEED = 4;

declare global {
  interface Window {
    __replay?: () => { timestampMs: number; content: ReturnType<typeof boardContent> } | undefined;
  }
}

/**
 * After the lesson: the timeline, and a replay of the board: the slider seeks with
 * replayBoardAt (the board at that instant), Play applies replayEvents from there on at
 * PLAY_SPEED. The host also gets a link to the report.
 */
export async function replayView(root: HTMLElement, sessionId: string): Promise<() => void> {
  const info = await request(ReplayInfoDocument, { id: sessionId }, { network: true });
  const session = info.data?.session;
  if (!session) {
    showNotice(humanMessage(info.error));
    return () => {};
  }
  const first = session.timelineStats.firstEventMs ?? 0;
  const last = session.timelineStats.lastEventMs ?? first;
  let board: Board | undefined;
  let at = last;
  let playing: { stop: boolean } | undefined;
  const canvas = new BoardCanvas({
    emit: () => {},
    newId: (prefix) => prefix,
    onPointer: () => {},
    tool: () => "pen",
    color: () => "#000",
    layerId: () => "default",
    canDraw: () => false,
  });
  const slider = h("input", { type: "range", min: first, max: last, step: 1, value: last, "aria-label": "Replay position", "data-testid": "replay-slider" });
  const clock = h("span", { class: "clock", "data-testid": "replay-clock" });
  const playButton = h("button", { type: "button", "data-testid": "replay-play" }, "Play");
  const view = h("div", { class: "replay", "data-testid": "replay" });
  window.__replay = () => (board ? { timestampMs: at, content: boardContent(board) } : undefined);

  const show = () => {
    clock.textContent = `${((at - first) / 1000).toFixed(1)} s`;
    if (board) canvas.render(board, []);
  };

  /** The board at `timestampMs`, from the server; the view says which instant it shows (data-at). */
  async function seek(timestampMs: number): Promise<void> {
    at = timestampMs;
    const result = await request(ReplayBoardAtDocument, { id: sessionId, timestampMs }, { network: true });
    const state = result.data?.session?.replayBoardAt;
    if (!state) return showNotice(humanMessage(result.error));
    if (at !== timestampMs) return; // a later seek won
    board = boardFromState(state);
    view.dataset.at = String(timestampMs);
    show();
  }

  async function play(): Promise<void> {
    if (playing) {
      playing.stop = true;
      return;
    }
    const run = { stop: false };
    playing = run;
    playButton.textContent = "Pause";
    if (at >= last) await seek(first);
    const start = at;
    const startedAt = performance.now();
    let after: string | null | undefined;
    do {
      const page = await request(ReplayEventsDocument, { id: sessionId, fromMs: start + 1, toMs: last + 1, after }, { network: true });
      const events = page.data?.session?.replayEvents;
      if (!events) break;
      for (const { node } of events.edges) {
        const due = (node.timestampMs - start) / PLAY_SPEED - (performance.now() - startedAt);
        if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
        if (run.stop || !board) break;
        at = node.timestampMs;
        slider.value = String(at);
        if (node.type.startsWith("BOARD_")) applyEvent(board, { type: node.type, data: node.data, seq: node.seq });
        show();
      }
      after = events.pageInfo.hasNextPage ? events.pageInfo.endCursor : undefined;
    } while (after && !run.stop);
    playing = undefined;
    playButton.textContent = "Play";
  }

  slider.addEventListener("input", () => void seek(Number(slider.value)));
  playButton.addEventListener("click", () => void play());

  const timeline = h(
    "ol",
    { class: "timeline", "data-testid": "timeline" },
    ...session.timeline.edges.map(({ node }) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "link", onclick: () => ((slider.value = String(node.timestampMs)), void seek(node.timestampMs)) },
          `${((node.timestampMs - first) / 1000).toFixed(1)} s`,
        ),
        ` ${node.type.toLowerCase().replace(/_/g, " ")}`,
        node.user ? ` · ${node.user.displayName}` : "",
      ),
    ),
  );
  const isHost = session.host.id === auth.auth?.user.id;
  view.append(
    h("h1", {}, `${session.title || "Lesson"}: replay`),
    h(
      "p",
      {},
      `${session.status.toLowerCase()} · ${session.timelineStats.totalEvents} events`,
      isHost ? h("a", { href: `#/report/${sessionId}`, class: "report-link", "data-testid": "open-report" }, " Open the report") : null,
    ),
    h("div", { class: "replay-controls" }, playButton, slider, clock),
    canvas.element,
    h("h2", {}, "Timeline"),
    timeline,
  );
  root.replaceChildren(view);
  await seek(last);
  return () => {
    if (playing) playing.stop = true;
    delete window.__replay;
  };
}
