import { auth, request } from "../api/client";
import { humanMessage } from "../api/errors";
import { field, h } from "../dom";
import { CreateSessionDocument, DashboardDocument, JoinSessionByCodeDocument, type SessionListItemFragment } from "../generated/graphql";
import { clearNotice, showNotice } from "../notice";

/**
 * Home: join by code (everyone); for tutors, create a session (its access code shown to
 * share) and the list of their sessions and bookings.
 */
export async function homeView(root: HTMLElement): Promise<void> {
  const isTutor = auth.auth?.user.role !== "STUDENT";
  const joinForm = h(
    "form",
    { class: "card", "aria-label": "Join a lesson" },
    h("h2", {}, "Join a lesson"),
    h("label", {}, "Access code", h("input", { name: "code", autocomplete: "off", required: true, "data-testid": "join-code" })),
    h("button", { type: "submit" }, "Join"),
  );
  joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void (async () => {
      const result = await request(JoinSessionByCodeDocument, { accessCode: field(joinForm, "code").trim() });
      if (!result.data) return showNotice(humanMessage(result.error));
      clearNotice();
      location.hash = `#/lesson/${result.data.joinSessionByCode.session.id}`;
    })();
  });

  const createForm = h(
    "form",
    { class: "card", "aria-label": "Create a lesson" },
    h("h2", {}, "New lesson"),
    h("label", {}, "Title", h("input", { name: "title", required: true, "data-testid": "new-title" })),
    h("button", { type: "submit" }, "Create"),
    h("p", { class: "created", "data-testid": "created" }),
  );
  createForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void (async () => {
      const result = await request(CreateSessionDocument, { input: { type: "GROUP", title: field(createForm, "title") } });
      if (!result.data) return showNotice(humanMessage(result.error));
      clearNotice();
      const session = result.data.createSession;
      createForm
        .querySelector(".created")!
        .replaceChildren(
          "Share this code with your students: ",
          h("strong", { class: "code", "data-testid": "created-code" }, session.accessCode ?? ""),
          " ",
          h("a", { href: `#/lesson/${session.id}`, "data-testid": "open-created" }, "Open the lesson"),
        );
      void list();
    })();
  });

  const sessions = h("section", { class: "card", "aria-label": "My sessions" }, h("h2", {}, "My sessions"), h("p", {}, "Loading…"));
  const bookings = h("section", { class: "card", "aria-label": "My bookings" }, h("h2", {}, "Bookings"));
  root.replaceChildren(h("div", { class: "home" }, isTutor ? createForm : null, joinForm, sessions, bookings));

  async function list(): Promise<void> {
    const result = await request(DashboardDocument, { first: 50 }, { network: true });
    if (!result.data) return showNotice(humanMessage(result.error));
    const item = (s: SessionListItemFragment) =>
      h(
        "li",
        {},
        h("a", { href: s.status === "COMPLETED" ? `#/replay/${s.id}` : `#/lesson/${s.id}` }, s.title || "Untitled lesson"),
        " ",
        h("span", { class: `badge status-${s.status.toLowerCase()}` }, s.status),
        s.accessCode ? h("span", { class: "code" }, ` code ${s.accessCode}`) : null,
      );
    const edges = result.data.mySessions.edges;
    sessions.replaceChildren(h("h2", {}, "My sessions"), edges.length ? h("ul", {}, ...edges.map((e) => item(e.node))) : h("p", {}, "No sessions yet."));
    const bookingEdges = result.data.myBookings.edges;
    bookings.replaceChildren(
      h("h2", {}, "Bookings"),
      bookingEdges.length
        ? h(
            "ul",
            {},
            ...bookingEdges.map(({ node: b }) =>
              h(
                "li",
                {},
                `${new Date(b.scheduledStart).toLocaleString()} · ${b.tutor.displayName} with ${b.student.displayName} `,
                h("span", { class: "badge" }, b.status),
                b.session ? h("a", { href: `#/lesson/${b.session.id}` }, " open") : null,
              ),
            ),
          )
        : h("p", {}, "No bookings."),
    );
  }
  await list();
}
