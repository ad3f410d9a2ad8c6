import { request } from "../api/client";
import { humanMessage } from "../api/errors";
import { h } from "../dom";
import { ChangeParticipantRoleDocument, KickParticipantDocument, RaiseHandDocument, type ParticipantItemFragment } from "../generated/graphql";
import { showNotice } from "../notice";

/**
 * The lesson's participant list: each person's role, status (online from presence, since a
 * first connect is no timeline event) and raised hand, the user's own raise-hand button, and
 * for the host a role choice and a Remove (kick) button per person. Updated from systemEvents
 * (upsert) and presence (setOnline).
 */
export class PeoplePanel {
  readonly list = h("ul", { class: "people", "data-testid": "participants" });
  readonly handButton = h("button", { type: "button", "data-testid": "raise-hand" }, "Raise hand");
  /** Display names by user id, for cursors too (presence names people who are not listed yet). */
  readonly names = new Map<string, string>();
  private readonly participants = new Map<string, ParticipantItemFragment>();
  private online = new Set<string>();

  constructor(
    private readonly sessionId: string,
    private readonly meId: string,
    private readonly isHost: boolean,
    initial: readonly ParticipantItemFragment[],
  ) {
    for (const p of initial) this.remember(p);
    this.handButton.addEventListener("click", () => {
      const raised = !this.participant(this.meId)?.handRaised;
      void request(RaiseHandDocument, { sessionId, raised }).then((r) => (r.data ? this.upsert(r.data.raiseHand) : showNotice(humanMessage(r.error))));
    });
    this.render();
  }

  participant(userId: string): ParticipantItemFragment | undefined {
    return this.participants.get(userId);
  }

  upsert(p: ParticipantItemFragment): void {
    this.remember(p);
    this.render();
  }

  /** Who has a realtime connection to the session now (a presence frame's onlineUserIds). */
  setOnline(userIds: readonly string[]): void {
    const next = new Set(userIds);
    if (next.size === this.online.size && [...next].every((id) => this.online.has(id))) return;
    this.online = next;
    this.render();
  }

  private remember(p: ParticipantItemFragment): void {
    this.participants.set(p.user.id, p);
    this.names.set(p.user.id, p.user.displayName);
  }

  private render(): void {
    const rows = [...this.participants.values()]
      .filter((p) => p.status !== "INVITED")
      .sort((a, b) => Number(b.role === "HOST") - Number(a.role === "HOST") || a.user.displayName.localeCompare(b.user.displayName))
      .map((p) => {
        const isMe = p.user.id === this.meId;
        const online = this.online.has(p.user.id);
        const hostTools =
          this.isHost && !isMe && p.status !== "KICKED"
            ? h(
                "span",
                { class: "row-tools" },
                this.roleSelect(p),
                h("button", { type: "button", "data-kick": p.user.id, onclick: () => this.kick(p) }, "Remove"),
              )
            : null;
        return h(
          "li",
          { "data-user-id": p.user.id, "data-status": p.status, "data-online": String(online) },
          h("span", { class: "name" }, p.user.displayName, isMe ? " (you)" : ""),
          " ",
          h("span", { class: "badge" }, p.role === "HOST" ? "host" : p.role.toLowerCase()),
          " ",
          h("span", { class: "pstatus" }, online ? "online" : p.status.toLowerCase()),
          p.handRaised ? h("span", { class: "hand", title: "Hand raised", "data-testid": "hand" }, " ✋") : null,
          hostTools,
        );
      });
    this.list.replaceChildren(...rows);
    this.handButton.textContent = this.participant(this.meId)?.handRaised ? "Lower hand" : "Raise hand";
  }

  private roleSelect(p: ParticipantItemFragment): HTMLSelectElement {
    const select = h(
      "select",
      { "aria-label": `Role of ${p.user.displayName}` },
      ...["STUDENT", "VIEWER"].map((r) => h("option", { value: r, selected: r === p.role }, r.toLowerCase())),
    );
    select.addEventListener("change", () => {
      const role = select.value === "VIEWER" ? "VIEWER" : "STUDENT";
      void request(ChangeParticipantRoleDocument, { sessionId: this.sessionId, userId: p.user.id, role }).then((r) =>
        r.data ? this.upsert(r.data.changeParticipantRole) : showNotice(humanMessage(r.error)),
      );
    });
    return select;
  }

  private kick(p: ParticipantItemFragment): void {
    void request(KickParticipantDocument, { sessionId: this.sessionId, userId: p.user.id, reason: "Removed by the host" }).then((r) =>
      r.data ? this.upsert(r.data.kickParticipant) : showNotice(humanMessage(r.error)),
    );
  }
}
