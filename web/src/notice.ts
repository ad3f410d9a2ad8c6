/** Shows a message to the person in the page's alert bar (role="alert"), replacing the previous one. */
export function showNotice(message: string, kind: "error" | "info" = "error"): void {
  const el = document.getElementById("notice");
  if (!el) return;
  el.textContent = message;
  el.className = `notice notice-${kind}`;
  el.hidden = false;
}

export function clearNotice(): void {
  const el = document.getElementById("notice");
  if (el) el.hidden = true;
}
