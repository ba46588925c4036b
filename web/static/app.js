// Small helpers shared by every page. Confirmation dialogs use <dialog>; htmx does the requests.
document.addEventListener("click", (ev) => {
  const opener = ev.target.closest("[data-open-dialog]");
  if (opener && opener.dataset.requireChecked && !opener.form?.querySelector(`input[name="${opener.dataset.requireChecked}"]:checked`)) {
    // nothing ticked: refuse first, as the server would, before any dialog asks for more
    ev.preventDefault();
    showFlash(opener.dataset.requireMessage || "请至少选择一项");
    return;
  }
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
// Phone header: the menu button (菜单) opens and closes the navigation; the page itself is unchanged
// so htmx triggers inside the navigation keep working.
document.addEventListener("click", (ev) => {
  const toggle = ev.target.closest("#nav-toggle");
  if (!toggle) return;
  const open = toggle.closest(".topbar").classList.toggle("nav-open");
  toggle.setAttribute("aria-expanded", String(open));
});
// Phone tables become cards: each cell shows its column's header (data-label), read from <thead>,
// for the page and for every fragment htmx swaps in.
function labelTables(root) {
  const tables = new Set(root.querySelectorAll ? root.querySelectorAll("table.list") : []);
  const own = root.closest && root.closest("table.list");
  if (own) tables.add(own);
  tables.forEach((table) => {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    table.querySelectorAll("tbody tr").forEach((tr) => {
      let col = 0;
      for (const td of tr.children) {
        if (!td.hasAttribute("data-label") && heads[col]) td.dataset.label = heads[col];
        col += td.colSpan || 1;
      }
    });
  });
}
document.addEventListener("DOMContentLoaded", () => labelTables(document));
document.addEventListener("htmx:load", (ev) => labelTables(ev.detail.elt));

// Selection totals (购物车, 发票申请, 单位开票): a form with data-selection="<checkbox name>" shows the
// count and the ¥ sum (each box's data-cents) of its ticked boxes in every element marked
// data-selection-count / data-selection-sum="<form id>"; a box with data-check-all ticks them all.
function selectionTotal(form) {
  const boxes = [...form.querySelectorAll(`input[name="${form.dataset.selection}"]`)];
  const ticked = boxes.filter((box) => box.checked);
  const cents = ticked.reduce((sum, box) => sum + Number(box.dataset.cents || 0), 0);
  document.querySelectorAll(`[data-selection-count="${form.id}"]`).forEach((el) => { el.textContent = ticked.length; });
  document.querySelectorAll(`[data-selection-sum="${form.id}"]`).forEach((el) => { el.textContent = `¥${(cents / 100).toFixed(2)}`; });
  return ticked.length;
}
document.addEventListener("change", (ev) => {
  const form = ev.target.form;
  if (!form || !form.dataset.selection) return;
  if (ev.target.hasAttribute("data-check-all")) {
    form.querySelectorAll(`input[name="${form.dataset.selection}"]`).forEach((box) => { box.checked = ev.target.checked; });
  }
  selectionTotal(form);
});
document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("form[data-selection]").forEach(selectionTotal));

// A server-side fault (503 系统繁忙) is not swapped; its HX-Trigger "showToast" puts the message in #flash.
function showFlash(message) {
  const flash = document.getElementById("flash");
  if (!flash) return;
  const div = document.createElement("div");
  div.className = "alert alert-error";
  div.setAttribute("role", "alert");
  div.textContent = message;
  flash.replaceChildren(div);
}
document.body.addEventListener("showToast", (ev) => showFlash(ev.detail.value));
