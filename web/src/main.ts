import { auth } from "./api/client";
import { h } from "./dom";
import { clearNotice } from "./notice";
import { signInView, signUpView } from "./views/auth";
import { homeView } from "./views/home";
import { lessonView } from "./views/lesson";
import { replayView } from "./views/replay";
import { reportView } from "./views/report";

/**
 * The app's router: `location.hash` names the view (#/signin, #/signup, #/, #/lesson/ID,
 * #/replay/ID, #/report/ID). Signed out, every view is the sign-in form.
 */
const root = document.getElementById("root")!;
let cleanup: (() => void) | void = undefined;
let generation = 0;

async function route(): Promise<void> {
  const mine = ++generation;
  cleanup?.();
  cleanup = undefined;
  clearNotice();
  renderWhoami();
  const [, view = "", id = ""] = location.hash.split("/");
  document.documentElement.dataset.view = view || "home";
  if (!auth.auth) {
    if (view === "signup") signUpView(root);
    else signInView(root);
    return;
  }
  let done: (() => void) | void = undefined;
  switch (view) {
    case "lesson":
      done = await lessonView(root, decodeURIComponent(id));
      break;
    case "replay":
      done = await replayView(root, decodeURIComponent(id));
      break;
    case "report":
      await reportView(root, decodeURIComponent(id));
      break;
    default:
      await homeView(root);
  }
  if (mine !== generation) done?.();
  else cleanup = done;
}

function renderWhoami(): void {
  const el = document.getElementById("whoami")!;
  const user = auth.auth?.user;
  el.replaceChildren(
    ...(user
      ? [h("span", { "data-testid": "me" }, user.displayName), " ", h("button", { type: "button", class: "link", onclick: () => auth.set(null) }, "Sign out")]
      : []),
  );
}

addEventListener("hashchange", () => void route());
auth.onChange((signedIn) => {
  if (!signedIn) location.hash = "#/signin";
  renderWhoami();
});
void route();
