import { auth, request } from "../api/client";
import { humanMessage } from "../api/errors";
import { field, h } from "../dom";
import { LoginDocument, RegisterDocument } from "../generated/graphql";
import { clearNotice, showNotice } from "../notice";

/** The first screen: a real form (Enter submits), email and password, and a link to sign up. */
export function signInView(root: HTMLElement): void {
  const form = h(
    "form",
    { class: "card auth-form", "aria-label": "Sign in", novalidate: false },
    h("h1", {}, "Sign in"),
    h("label", {}, "Email", h("input", { type: "email", name: "email", autocomplete: "username", required: true })),
    h("label", {}, "Password", h("input", { type: "password", name: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Sign in"),
    h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void (async () => {
      const result = await request(LoginDocument, { email: field(form, "email"), password: field(form, "password") });
      if (!result.data) return showNotice(humanMessage(result.error));
      clearNotice();
      auth.set(result.data.login);
      location.hash = "#/";
    })();
  });
  root.replaceChildren(form);
  if (auth.expired) showNotice("Your sign-in has expired. Please sign in again.", "info");
  form.querySelector("input")?.focus();
}

export function signUpView(root: HTMLElement): void {
  const form = h(
    "form",
    { class: "card auth-form", "aria-label": "Sign up" },
    h("h1", {}, "Create an account"),
    h("label", {}, "Name", h("input", { name: "displayName", autocomplete: "name", required: true })),
    h("label", {}, "Email", h("input", { type: "email", name: "email", autocomplete: "username", required: true })),
    h("label", {}, "Password", h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 })),
    h(
      "fieldset",
      {},
      h("legend", {}, "I am a"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "role", value: "STUDENT", checked: true }), "Student"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "role", value: "TUTOR" }), "Tutor"),
    ),
    h("button", { type: "submit" }, "Sign up"),
    h("p", {}, "Have an account? ", h("a", { href: "#/signin" }, "Sign in")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void (async () => {
      const role = field(form, "role") === "TUTOR" ? "TUTOR" : "STUDENT";
      const result = await request(RegisterDocument, {
        input: { displayName: field(form, "displayName"), email: field(form, "email"), password: field(form, "password"), role },
      });
      if (!result.data) return showNotice(humanMessage(result.error));
      clearNotice();
      auth.set(result.data.register);
      location.hash = "#/";
    })();
  });
  root.replaceChildren(form);
}
