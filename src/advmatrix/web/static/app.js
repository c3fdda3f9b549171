// Matrix interactions: expand sub-techniques, filter, and colour cells from a layer.
// Untrusted text (layer names, legends, comments) only ever goes through textContent/title.
"use strict";
(function () {
  const matrix = document.getElementById("matrix");
  if (!matrix) return;
  const $ = (id) => document.getElementById(id);
  let currentLayer = null;

  matrix.addEventListener("click", (ev) => {
    const btn = ev.target.closest(".toggle");
    if (!btn) return;
    const subs = btn.parentElement.querySelector(".subs");
    const open = btn.getAttribute("aria-expanded") === "true";
    btn.setAttribute("aria-expanded", String(!open));
    subs.hidden = open;
  });

  $("expand-all").addEventListener("click", () => {
    const toggles = matrix.querySelectorAll(".toggle");
    const anyClosed = Array.from(toggles).some((b) => b.getAttribute("aria-expanded") !== "true");
    toggles.forEach((b) => { b.setAttribute("aria-expanded", String(anyClosed)); b.parentElement.querySelector(".subs").hidden = !anyClosed; });
  });

  function applyFilter() {
    const text = ($("filter").value || "").trim().toLowerCase();
    const maturity = $("maturity").value;
    matrix.querySelectorAll(".cell").forEach((cell) => {
      const subs = Array.from(cell.querySelectorAll(".sub"));
      const matches = (el) => (!text || el.dataset.name.includes(text) || el.dataset.id.toLowerCase().includes(text))
        && (!maturity || el.dataset.maturity === maturity);
      const subHit = subs.filter(matches);
      subs.forEach((s) => s.classList.toggle("hidden-by-filter", (text || maturity) && !matches(s)));
      cell.classList.toggle("hidden-by-filter", !matches(cell) && subHit.length === 0);
      if ((text || maturity) && subHit.length) { const b = cell.querySelector(".toggle"); b.setAttribute("aria-expanded", "true"); cell.querySelector(".subs").hidden = false; }
    });
  }
  $("filter").addEventListener("input", applyFilter);
  $("filter").form.addEventListener("submit", (ev) => { ev.preventDefault(); applyFilter(); });
  $("maturity").addEventListener("change", applyFilter);

  function clearColours() {
    matrix.querySelectorAll(".cell, .sub").forEach((el) => { el.style.background = ""; el.removeAttribute("title"); });
  }

  function showView(view, layerJson) {
    clearColours();
    currentLayer = layerJson;
    const safe = (c) => (/^#[0-9a-fA-F]{3,8}$/.test(c) ? c : "");
    for (const [id, byTactic] of Object.entries(view.cells)) {
      // A technique under several tactics has a cell in each column; an entry naming a tactic
      // colours only that column's cell, one without a tactic ("*") colours them all.
      for (const el of matrix.querySelectorAll(`.cell[data-id="${CSS.escape(id)}"], .sub[data-id="${CSS.escape(id)}"]`)) {
        const cell = byTactic[el.closest(".tactic").dataset.tactic] || byTactic["*"];
        if (!cell) continue;
        el.style.background = safe(cell.color);
        el.title = (cell.score !== null && cell.score !== undefined ? `score ${cell.score}` : "") + (cell.comment ? ` · ${cell.comment}` : "");
        if (el.classList.contains("sub")) { const parent = el.closest(".cell"); parent.querySelector(".subs").hidden = false; parent.querySelector(".toggle").setAttribute("aria-expanded", "true"); }
      }
    }
    $("layer-name").textContent = view.name;
    $("layer-description").textContent = view.description || "";
    const legend = $("legend");
    legend.replaceChildren();
    for (const item of view.legend) {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = safe(item.color);
      const label = document.createElement("span");
      label.textContent = item.label;
      li.append(sw, label);
      legend.append(li);
    }
    const scale = $("scale");
    scale.replaceChildren();
    for (const stop of view.scale || []) {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = safe(stop.color);
      const label = document.createElement("span");
      label.textContent = stop.value;
      li.append(sw, label);
      scale.append(li);
    }
    $("layer-unknown").textContent = view.unknown.length ? `Not in this matrix: ${view.unknown.join(", ")}` : "";
    $("layer-info").hidden = false;
    ["download-json", "download-svg", "clear-layer"].forEach((id) => { $(id).disabled = false; });
  }

  async function viewLayer(layerJson) {
    const r = await fetch("/api/layers/view", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(layerJson) });
    const body = await r.json();
    if (!r.ok) { alertText(body.detail || "not a layer"); return; }
    showView(body, layerJson);
  }

  function alertText(message) {
    $("layer-name").textContent = "Layer not loaded";
    $("layer-description").textContent = typeof message === "string" ? message : JSON.stringify(message);
    $("legend").replaceChildren();
    $("scale").replaceChildren();
    $("layer-info").hidden = false;
  }

  $("layer-file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    try { await viewLayer(JSON.parse(await file.text())); } catch (e) { alertText(`${file.name}: not valid JSON`); }
  });

  async function loadBuiltin(name) {
    if (!name) { clearColours(); $("layer-info").hidden = true; currentLayer = null; return; }
    const r = await fetch(`/api/layers/${encodeURIComponent(name)}`);
    if (r.ok) await viewLayer(await r.json()); else alertText(`layer ${name} not available`);
  }
  $("builtin-layer").addEventListener("change", (ev) => loadBuiltin(ev.target.value));
  $("clear-layer").addEventListener("click", () => { $("builtin-layer").value = ""; loadBuiltin(""); });

  const combineForm = $("combine");
  if (combineForm) combineForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(combineForm)) if (v) params.append(k, v);
    const r = await fetch(`/api/layers/combine?${params}`);
    const body = await r.json();
    if (!r.ok) { alertText(`Cannot combine: ${body.detail}`); return; }
    $("builtin-layer").value = "";
    await viewLayer(body);
  });

  function download(name, blob) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
  }
  $("download-json").addEventListener("click", () => {
    if (currentLayer) download("layer.json", new Blob([JSON.stringify(currentLayer, null, 2)], { type: "application/json" }));
  });
  $("download-svg").addEventListener("click", async () => {
    if (!currentLayer) return;
    const r = await fetch("/api/layers/svg", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(currentLayer) });
    if (r.ok) download("layer.svg", await r.blob());
  });

  const params = new URLSearchParams(location.search);
  if (params.get("q")) { $("filter").value = params.get("q"); applyFilter(); }
  if ($("builtin-layer").value) loadBuiltin($("builtin-layer").value);
})();
