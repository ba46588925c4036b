// Small helpers shared by every page. Confirmation dialogs use <dialog>; htmx does the requests.
document.addEventListener("click", (ev) => {
  const opener = ev.target.closest("[data-open-dialog]");
  if (opener) {
    const dlg = document.getElementById(opener.dataset.openDialog);
    if (dlg) { ev.preventDefault(); dlg.showModal(); }
  }
  const closer = ev.target.closest("[data-close-dialog]");
  if (closer) { ev.preventDefault(); closer.closest("dialog").close(); }
});
// Close a dialog after its htmx request has finished successfully.
document.addEventListener("htmx:afterRequest", (ev) => {
  const dlg = ev.target.closest && ev.target.closest("dialog[data-close-on-success]");
  if (dlg && ev.detail.successful) dlg.close();
});
// Clicking outside an open dropdown closes it.
document.addEventListener("click", (ev) => {
  document.querySelectorAll("details.dropdown[open]").forEach((d) => { if (!d.contains(ev.target)) d.removeAttribute("open"); });
});
// A server-side fault (503 系统繁忙) is not swapped; its HX-Trigger "showToast" puts the message in #flash.
document.body.addEventListener("showToast", (ev) => {
  const flash = document.getElementById("flash");
  if (!flash) return;
  const div = document.createElement("div");
  div.className = "alert alert-error";
  div.setAttribute("role", "alert");
  div.textContent = ev.detail.value;
  flash.replaceChildren(div);
});
