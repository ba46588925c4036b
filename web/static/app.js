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
