import { auth, LiveStream, onLinkChange, request } from "../api/client";
import { humanMessage } from "../api/errors";
import { BoardCanvas, type Tool } from "../board/canvas";
import { CursorLayer } from "../board/cursors";
import { boardContent } from "../board/model";
import { BoardSync } from "../board/sync";
import { field, h } from "../dom";
import {
  CompleteSessionDocument,
  JoinSessionDocument,
  LessonDocument,
  MoveCursorDocument,
  PauseSessionDocument,
  PresenceDocument,
  ResumeSessionDocument,
  SendChatMessageDocument,
  StartSessionDocument,
  SystemEventsDocument,
  type SessionStatus,
} from "../generated/graphql";
import { showNotice } from "../notice";
import { PeoplePanel } from "./people-panel";

const CURSOR_INTERVAL_MS = 50;
const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#222222"];

/** Debug hook read by the browser tests: the board's content (not its pixels). */
declare global {
  interface Window {
    __board?: () => { version: number; lastSeq: number; content: ReturnType<typeof boardContent> };
  }
}

/**
 * The lesson: whiteboard (tools, undo/redo, layers) kept in sync by BoardSync, live cursors
 * (presence + moveCursor), participants and raised hands and chat (systemEvents), and the
 * host's controls. Answers a cleanup that ends its streams.
 */
export async function lessonView(root: HTMLElement, sessionId: string): Promise<() => void> {
  const me = auth.auth!.user;
  const loaded = await request(LessonDocument, { id: sessionId }, { network: true });
  const session = loaded.data?.session;
  if (!session) {
    showNotice(humanMessage(loaded.error ?? { graphQLErrors: [{ message: "", extensions: { code: "NOT_FOUND" } }] }));
    root.replaceChildren(h("p", {}, h("a", { href: "#/" }, "Back")));
    return () => {};
  }
  if (session.status === "COMPLETED" || session.status === "TERMINATED" || session.status === "EXPIRED") {
    location.hash = `#/replay/${sessionId}`;
    return () => {};
  }
  const isHost = session.host.id === me.id;
  // Seated (JOINING) so that presence, cursors and board writes are allowed; a seat already
  // held answers INVALID_STATE, which is fine.
  const seated = session.participants.find((p) => p.user.id === me.id);
  if (!seated || !["JOINING", "CONNECTED", "RECONNECTING"].includes(seated.status)) {
    const joined = await request(JoinSessionDocument, { id: sessionId });
    if (!joined.data) showNotice(humanMessage(joined.error));
  }

  let status: SessionStatus = session.status;
  let kicked = false;
  const cleanups: Array<() => void> = [];

  // --- header and host controls
  const statusBadge = h("span", { class: "badge", "data-testid": "session-status" });
  const linkBadge = h("span", { class: "badge link", "data-testid": "link-state" });
  cleanups.push(onLinkChange((state) => ((linkBadge.textContent = state === "online" ? "live" : state), (linkBadge.className = `badge link link-${state}`))));
  const hostButton = (label: string, run: () => Promise<{ error?: unknown; data?: unknown }>) =>
    h(
      "button",
      {
        type: "button",
        "data-action": label.toLowerCase(),
        onclick: () =>
          void run().then((r) => {
            if (!r.data) showNotice(humanMessage(r.error));
          }),
      },
      label,
    );
  const controls = h(
    "div",
    { class: "host-controls", hidden: !isHost },
    hostButton("Start", () => request(StartSessionDocument, { id: sessionId }).then((r) => (r.data && setStatus(r.data.startSession.status), r))),
    hostButton("Pause", () => request(PauseSessionDocument, { id: sessionId }).then((r) => (r.data && setStatus(r.data.pauseSession.status), r))),
    hostButton("Resume", () => request(ResumeSessionDocument, { id: sessionId }).then((r) => (r.data && setStatus(r.data.resumeSession.status), r))),
    hostButton("Complete", () => request(CompleteSessionDocument, { id: sessionId }).then((r) => (r.data && setStatus(r.data.completeSession.status), r))),
  );
  const after = h("a", { href: `#/replay/${sessionId}`, hidden: true, "data-testid": "open-replay" }, "Open the replay and report");
  const kickedBanner = h("div", { class: "kicked", role: "alert", hidden: true, "data-testid": "kicked" });
  const header = h(
    "div",
    { class: "lesson-head" },
    h("h1", {}, session.title || "Lesson"),
    statusBadge,
    linkBadge,
    session.accessCode ? h("span", { class: "code" }, "Code ", h("strong", { "data-testid": "access-code" }, session.accessCode)) : null,
    controls,
    after,
  );
  function setStatus(next: SessionStatus): void {
    status = next;
    statusBadge.textContent = next;
    statusBadge.className = `badge status-${next.toLowerCase()}`;
    for (const button of controls.querySelectorAll<HTMLButtonElement>("button")) {
      const action = button.dataset.action;
      button.disabled =
        (action === "start" && !["SCHEDULED", "WAITING"].includes(next)) ||
        (action === "pause" && next !== "ACTIVE") ||
        (action === "resume" && next !== "PAUSED") ||
        (action === "complete" && !["ACTIVE", "PAUSED"].includes(next));
    }
    after.hidden = !["COMPLETED", "TERMINATED", "EXPIRED"].includes(next);
    document.documentElement.dataset.sessionStatus = next;
  }
  setStatus(status);

  // --- whiteboard
  let tool: Tool = "pen";
  let color = COLORS[Math.floor(Math.random() * COLORS.length)];
  let layerId = "default";
  const sync: BoardSync = new BoardSync(
    sessionId,
    () => redraw(),
    (message, code) => (code === "FORBIDDEN" ? showKicked() : showNotice(message)),
  );
  let lastCursor = 0;
  let cursorTimer: ReturnType<typeof setTimeout> | undefined;
  let cursorAt: [number, number] | undefined;
  const sendCursor = () => {
    cursorTimer = undefined;
    if (!cursorAt || status !== "ACTIVE" || kicked) return;
    lastCursor = Date.now();
    const [x, y] = cursorAt;
    void request(MoveCursorDocument, { sessionId, x, y, tool, color });
  };
  const canvas = new BoardCanvas({
    emit: (type, data) => {
      if (status !== "ACTIVE") return showNotice("The board is open while the lesson is running.", "info");
      sync.push(type, data);
    },
    newId: (prefix) => sync.newId(prefix),
    onPointer: (x, y) => {
      cursorAt = [x, y];
      cursorTimer ??= setTimeout(sendCursor, Math.max(0, CURSOR_INTERVAL_MS - (Date.now() - lastCursor)));
    },
    tool: () => tool,
    color: () => color,
    layerId: () => (sync.board.layers.some((l) => l.id === layerId) ? layerId : sync.board.layers[sync.board.layers.length - 1].id),
    canDraw: () => !kicked && (people.participant(me.id)?.permissions.canDraw ?? true),
  });

  const toolButtons = (["pen", "rect", "text", "eraser"] as const).map((name) =>
    h(
      "button",
      { type: "button", class: "tool", "data-tool": name, "aria-pressed": String(name === tool), onclick: () => selectTool(name) },
      name === "rect" ? "rectangle" : name,
    ),
  );
  function selectTool(name: Tool): void {
    tool = name;
    for (const b of toolButtons) b.setAttribute("aria-pressed", String(b.dataset.tool === name));
  }
  const colorInput = h("input", { type: "color", value: color, "aria-label": "Colour" });
  colorInput.addEventListener("input", () => (color = colorInput.value));
  const layerSelect = h("select", { "aria-label": "Layer", "data-testid": "layer-select" });
  layerSelect.addEventListener("change", () => (layerId = layerSelect.value));
  const toolbar = h(
    "div",
    { class: "toolbar", role: "toolbar" },
    ...toolButtons,
    colorInput,
    h("button", { type: "button", onclick: () => sync.push("UNDO", {}) }, "Undo"),
    h("button", { type: "button", onclick: () => sync.push("REDO", {}) }, "Redo"),
    layerSelect,
    h("button", { type: "button", onclick: () => addLayer() }, "+ layer"),
    h("button", { type: "button", onclick: () => sync.board.layers.length > 1 && sync.push("LAYER_DELETE", { id: layerSelect.value }) }, "− layer"),
  );
  /** A new layer on top, which becomes the one new objects go to. */
  function addLayer(): void {
    layerId = sync.newId("l");
    sync.push("LAYER_ADD", { id: layerId, name: `Layer ${sync.board.layers.length + 1}` });
  }
  function redraw(): void {
    canvas.render(sync.board, sync.pending);
    const layers = sync.board.layers;
    if (
      layerSelect.options.length !== layers.length ||
      layers.some((l, i) => layerSelect.options[i].value !== l.id || layerSelect.options[i].text !== l.name)
    ) {
      layerSelect.replaceChildren(...layers.map((l) => h("option", { value: l.id }, l.name)));
      layerSelect.value = layers.some((l) => l.id === layerId) ? layerId : layers[layers.length - 1].id;
    }
    canvas.element.dataset.version = String(sync.board.version);
  }
  window.__board = () => ({ version: sync.board.version, lastSeq: sync.board.lastSeq, content: boardContent(sync.board) });

  // --- cursors (presence) and people
  const cursorLayer = new CursorLayer();
  canvas.element.append(cursorLayer.element);
  const people = new PeoplePanel(sessionId, me.id, isHost, session.participants);

  const chatLog = h("ol", { class: "chat-log", "data-testid": "chat-log", "aria-live": "polite" });
  const chatForm = h(
    "form",
    { class: "chat-form", "aria-label": "Chat" },
    h("input", { name: "text", autocomplete: "off", placeholder: "Message", "aria-label": "Message", maxlength: 2000 }),
    h("button", { type: "submit" }, "Send"),
  );
  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = field(chatForm, "text").trim();
    if (!text) return;
    chatForm.reset();
    void request(SendChatMessageDocument, { sessionId, text, clientMessageId: crypto.randomUUID() }).then((r) => !r.data && showNotice(humanMessage(r.error)));
  });
  let systemSeq = 0;
  const seenChat = new Set<number>();

  function showKicked(): void {
    if (kicked) return;
    kicked = true;
    kickedBanner.textContent = "You have been removed from this lesson by the host.";
    kickedBanner.hidden = false;
    document.documentElement.dataset.kicked = "true";
    sync.stop();
    presence.stop();
    system.stop();
  }

  const system = new LiveStream(
    SystemEventsDocument,
    () => ({ sessionId, afterSeq: systemSeq }),
    ({ systemEvents: e }) => {
      if (e.seq != null) {
        if (e.seq <= systemSeq && e.kind !== "KICKED") return;
        systemSeq = Math.max(systemSeq, e.seq);
      }
      switch (e.kind) {
        case "CHAT_MESSAGE":
          if (e.seq != null && seenChat.has(e.seq)) break;
          if (e.seq != null) seenChat.add(e.seq);
          chatLog.append(h("li", {}, h("strong", {}, `${e.participant?.user.displayName ?? "someone"}: `), e.message ?? ""));
          chatLog.scrollTop = chatLog.scrollHeight;
          break;
        case "KICKED":
          // Only the kicked user is told KICKED (everyone else gets a PARTICIPANT_UPDATE).
          showKicked();
          break;
        case "PARTICIPANT_UPDATE":
        case "PERMISSION_UPDATE":
          if (e.participant) people.upsert(e.participant);
          break;
        case "SESSION_STATUS":
          if (e.status) setStatus(e.status);
          break;
        case "NOTIFICATION":
          if (e.message) showNotice(e.message, "info");
          break;
      }
    },
    (end) => {
      // Kicked (FORBIDDEN), or no access any more (NOT_FOUND): either way this lesson is over for us.
      if (end.code === "FORBIDDEN" || end.code === "NOT_FOUND") showKicked();
      else if (end.code === "RESYNC_REQUIRED") system.restart();
      else if (end.code) showNotice(end.message ?? "The lesson's events stopped.");
    },
  );
  const presence = new LiveStream(
    PresenceDocument,
    () => ({ sessionId }),
    ({ presence: p }) => {
      if (p.user) people.names.set(p.user.id, p.user.displayName);
      people.setOnline(p.onlineUserIds);
      for (const c of p.cursors) if (c.userId !== me.id) cursorLayer.place(c.userId, people.names.get(c.userId) ?? "someone", c.x, c.y, c.color);
      if (p.kind !== "CURSORS") cursorLayer.keepOnly(p.onlineUserIds);
    },
    (end) => {
      if (end.code === "FORBIDDEN") showKicked();
    },
  );
  await sync.start();

  root.replaceChildren(
    h(
      "div",
      { class: "lesson" },
      header,
      kickedBanner,
      h("div", { class: "board-area" }, toolbar, canvas.element),
      h("aside", { class: "side" }, h("h2", {}, "People"), people.list, people.handButton, h("h2", {}, "Chat"), chatLog, chatForm),
    ),
  );
  redraw();
  return () => {
    sync.stop();
    presence.stop();
    system.stop();
    clearTimeout(cursorTimer);
    for (const cleanup of cleanups) cleanup();
    delete window.__board;
  };
}
