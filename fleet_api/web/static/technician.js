/* Technician page: the fleet at a glance, live from /api/events. */
"use strict";

(() => {
  const { t, h, api } = HF;
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const PLAN_W_M = 60;
  const PLAN_H_M = 40;
  const ACTIVE = new Set(["requested", "assigned", "to_pickup", "awaiting_load", "loaded", "in_transit", "awaiting_recipient",
    "returning"]);
  const REFRESH_S = 30;

  const robots = new Map();       // id -> robot summary
  const elevators = new Map();    // elevatorId -> status
  const deliveryStates = new Map(); // delivery id -> state
  const visits = new Map();       // visit id -> a guidance robot's visit to a ticket that waited too long
  let alerts = [];                // for technicians: blocked compartments, files that cannot go back; newest first
  let helpers = [];               // visitors at a kiosk who asked for a staff helper (帮办), newest first
  let levels = [];

  const hasErrors = (r) => (r.errors || []).length > 0 || r.activity === "error";

  function renderCounts() {
    const all = [...robots.values()];
    $("count-online").textContent = t("tech.online", { online: all.filter((r) => r.online).length, total: all.length });
    $("count-active").textContent = t("tech.active", { n: [...deliveryStates.values()].filter((s) => ACTIVE.has(s)).length });
    $("count-errors").textContent = t("tech.errors", { n: all.filter(hasErrors).length });
  }

  function battery(r) {
    if (r.battery_pct === null || r.battery_pct === undefined) return "—";
    const pct = Math.max(0, Math.min(100, r.battery_pct));
    const cls = pct < 20 ? "low" : pct < 50 ? "mid" : "";
    return h("div", { class: "battery" },
      h("div", { class: "bar", role: "img", "aria-label": `${Math.round(pct)}%` },
        h("div", { class: `fill ${cls}`, style: `width:${pct}%` })),
      `${Math.round(pct)}%`, r.charging ? ` ⚡${t("tech.charging")}` : "");
  }

  function renderRobots() {
    const list = [...robots.values()].sort((a, b) => a.id.localeCompare(b.id));
    if (!list.length) { $("robots").replaceChildren(h("p", { class: "muted" }, t("tech.norobots"))); return; }
    const cols = ["tech.col.id", "tech.col.kind", "tech.col.online", "tech.col.activity", "tech.col.level", "tech.col.pos",
      "tech.col.battery", "tech.col.delivery", "tech.col.errors", "tech.col.safety"];
    $("robots").replaceChildren(h("table", { "data-testid": "robots-table" },
      h("thead", {}, h("tr", {}, cols.map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, list.map((r) => h("tr", {
        "data-robot": r.id,
        class: [r.online ? "" : "offline", hasErrors(r) ? "has-error" : "", isFatal(r) ? "fatal" : ""].join(" ").trim() || null,
      },
      h("td", {}, h("strong", {}, r.id)),
      h("td", {}, t(`tech.kind.${r.kind}`)),
      h("td", {}, r.online ? t("common.yes") : t("common.no")),
      h("td", { class: "activity" }, t(`activity.${r.activity}`)),
      h("td", {}, HF.floor(r.level)),
      h("td", {}, r.x_m === null || r.x_m === undefined ? "—" : `${r.x_m.toFixed(1)}, ${r.y_m.toFixed(1)}`),
      h("td", {}, battery(r)),
      h("td", { class: "mono" }, (r.delivery_ids || []).join(", ") || "—"),
      h("td", {}, (r.errors || []).length
        ? h("ul", { class: "errors" }, r.errors.map((e) => h("li", {}, `${e.level} ${e.type}${e.description ? `: ${e.description}` : ""}`)))
        : "—"),
      h("td", { class: "safety" }, safetyButtons(r)))))));
  }

  const isFatal = (r) => (r.errors || []).some((e) => e.level === "FATAL") || (r.e_stop && r.e_stop !== "NONE");

  function safetyButtons(r) {
    const stopped = r.e_stop && r.e_stop !== "NONE";
    return h("div", { class: "safety-buttons" },
      stopped ? h("span", { class: "estop-badge" }, t(`tech.estop.${r.e_stop.toLowerCase()}`)) : "",
      h("button", { type: "button", class: "estop", "data-action": "estop", disabled: !r.online || null,
        "aria-label": `${t("tech.estop")} ${r.id}`, onclick: () => safety(r.id, "estop") }, t("tech.estop")),
      h("button", { type: "button", class: "reset", "data-action": "reset", disabled: !r.online || null,
        "aria-label": `${t("tech.reset")} ${r.id}`, onclick: () => safety(r.id, "reset") }, t("tech.reset")));
  }

  async function safety(id, what) {
    if (what === "estop" && !window.confirm(t("tech.estop.confirm", { id }))) return;
    try {
      await api("POST", `/api/robots/${encodeURIComponent(id)}/${what}`, { person: t("tech.person") });
      $("msg").textContent = t(what === "estop" ? "tech.estop.done" : "tech.reset.done", { id });
      $("msg").className = "msg ok";
    } catch (e) { reportError(e); }
  }

  const doorLabel = (door) => HF.label("tech.door", String(door).toLowerCase());

  function renderElevators() {
    const list = [...elevators.values()].sort((a, b) => a.elevatorId.localeCompare(b.elevatorId));
    if (!list.length) { $("elevators").replaceChildren(h("p", { class: "muted" }, t("tech.noelevators"))); return; }
    const cols = ["tech.col.elevator", "tech.col.level", "tech.col.door", "tech.col.moving", "tech.col.target", "tech.col.heldby", "tech.col.fault"];
    $("elevators").replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, cols.map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, list.map((e) => h("tr", { class: e.fault ? "has-error" : null },
        h("td", {}, h("strong", {}, e.elevatorId)),
        h("td", {}, HF.floor(e.level)),
        h("td", {}, doorLabel(e.door)),
        h("td", {}, e.moving ? `${t("common.yes")} ${e.direction || ""}` : t("common.no")),
        h("td", {}, e.targetLevel === null || e.targetLevel === undefined ? "—" : HF.floor(e.targetLevel)),
        h("td", {}, e.heldBy || "—"),
        h("td", {}, e.fault || "—"))))));
  }

  function renderVisits() {
    const list = [...visits.values()].sort((a, b) => b.started_at.localeCompare(a.started_at)).slice(0, 20);
    if (!list.length) { $("visits").replaceChildren(h("p", { class: "muted" }, t("tech.novisits"))); return; }
    const cols = ["tech.col.ticket", "tech.col.zone", "tech.col.robot", "tech.col.visit", "tech.col.waited"];
    $("visits").replaceChildren(h("table", { "data-testid": "visits-table" },
      h("thead", {}, h("tr", {}, cols.map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, list.map((v) => h("tr", { "data-visit": v.visit_id, class: v.state === "failed" ? "has-error" : null },
        h("td", {}, h("strong", {}, v.ticket)),
        h("td", {}, v.zone),
        h("td", {}, v.robot_id),
        h("td", { title: v.note || "" }, HF.label("tech.visit", v.state)),
        h("td", {}, v.waited_min === null || v.waited_min === undefined ? "—" : String(v.waited_min)))))));
  }

  function renderAlerts() {
    if (!alerts.length) { $("alerts").replaceChildren(h("li", { class: "muted" }, t("tech.noalerts"))); return; }
    $("alerts").replaceChildren(...alerts.slice(0, 10).map((a) => h("li", { "data-alert": a.id, class: "has-error" },
      h("div", { class: "small muted" }, HF.time(a.at)), h("div", { class: "text" }, HF.lang === "en" ? a.text_en : a.text_zh))));
  }

  async function loadAlerts() {
    alerts = await api("GET", "/api/alerts?limit=10");
    renderAlerts();
  }

  function renderHelpers() {
    if (!helpers.length) { $("helpers").replaceChildren(h("li", { class: "muted" }, t("tech.nohelpers"))); return; }
    $("helpers").replaceChildren(...helpers.slice(0, 10).map((n) => h("li", { "data-helper": n.id },
      h("div", { class: "small muted" }, HF.time(n.at)), h("div", { class: "text" }, HF.lang === "en" ? n.text_en : n.text_zh))));
  }

  async function loadHelpers() {
    helpers = await api("GET", "/api/kiosk/helper?limit=10");
    renderHelpers();
  }

  function svg(tag, attrs, text) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // Floor extents from /api/floors; until they arrive, the hall's nominal 60 m x 40 m.
  let floorInfo = new Map();
  async function loadFloors() {
    try {
      const list = await api("GET", "/api/floors");
      floorInfo = new Map(list.map((f) => [f.level, f]));
      renderSoon();
    } catch (_) { /* keep the nominal plan */ }
  }

  function renderFloors() {
    const all = [...robots.values()];
    const floorSet = new Set([...levels, ...floorInfo.keys()]);
    all.forEach((r) => { if (r.level !== null && r.level !== undefined) floorSet.add(r.level); });
    const sorted = [...floorSet].sort((a, b) => (a > b ? 1 : a < b ? -1 : 0));
    $("floors").replaceChildren(...sorted.map((level) => {
      const f = floorInfo.get(level) || { origin_x_m: 0, origin_y_m: 0, width_m: PLAN_W_M, height_m: PLAN_H_M };
      const plan = svg("svg", { viewBox: `0 0 ${f.width_m} ${f.height_m}`, role: "img", "aria-label": HF.floor(level) });
      if (floorInfo.has(level)) {
        plan.append(svg("image", { href: `/api/floors/${level}/map.png`, x: 0, y: 0, width: f.width_m, height: f.height_m,
          preserveAspectRatio: "none" }));
      } else {
        for (let x = 10; x < f.width_m; x += 10) plan.append(svg("line", { x1: x, y1: 0, x2: x, y2: f.height_m, class: "grid-line" }));
        for (let y = 10; y < f.height_m; y += 10) plan.append(svg("line", { x1: 0, y1: y, x2: f.width_m, y2: y, class: "grid-line" }));
      }
      for (const r of all) {
        if (r.level !== level || r.x_m === null || r.x_m === undefined) continue;
        const cx = r.x_m - f.origin_x_m;
        const cy = f.height_m - (r.y_m - f.origin_y_m);  // map y points up, SVG y points down
        const dot = svg("circle", { cx, cy, r: 1, class: `robot-dot ${r.kind}${hasErrors(r) || !r.online ? " bad" : ""}` });
        dot.append(svg("title", {}, `${r.id} (${r.x_m}, ${r.y_m})`));
        plan.append(dot, svg("text", { x: cx + 1.3, y: cy + 0.7, class: "robot-label" }, r.id));
      }
      return h("figure", { class: "floor-plan", style: "margin:0" }, h("figcaption", {}, HF.floor(level)), plan);
    }));
    const unplaced = all.filter((r) => r.x_m === null || r.x_m === undefined).map((r) => r.id);
    $("nopos").textContent = unplaced.length ? t("tech.nopos", { ids: unplaced.join(", ") }) : "";
  }

  function renderAll() { renderCounts(); renderRobots(); renderElevators(); renderVisits(); renderAlerts(); renderHelpers(); renderFloors(); }

  let pending = false;
  function renderSoon() {  // coalesce bursts of robot states into one repaint per frame
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; renderAll(); });
  }

  async function loadAll() {
    const [rs, es, ds, ps, vs] = await Promise.all([
      api("GET", "/api/robots"), api("GET", "/api/elevators"),
      api("GET", "/api/deliveries?limit=500"), api("GET", "/api/places"), api("GET", "/api/queue/visits"),
    ]);
    visits.clear(); vs.forEach((v) => visits.set(v.visit_id, v));
    robots.clear(); rs.forEach((r) => robots.set(r.id, r));
    elevators.clear(); es.forEach((e) => elevators.set(e.elevatorId, e));
    deliveryStates.clear(); ds.forEach((d) => deliveryStates.set(d.id, d.state));
    levels = [...new Set(ps.map((p) => p.level).filter((l) => l !== null && l !== undefined))];
    $("msg").textContent = ""; $("msg").className = "msg";
    renderAll();
  }

  function setLive(ok) {
    const el = $("live");
    el.textContent = ok ? t("common.live.ok") : t("common.live.lost");
    el.classList.toggle("lost", !ok);
    el.dataset.ok = ok ? "1" : "0";
  }

  function reportError(e) {
    $("msg").textContent = t("common.error", { msg: e.message });
    $("msg").className = "msg error";
  }

  document.addEventListener("hf:lang", () => { renderAll(); if ($("live").dataset.ok) setLive($("live").dataset.ok === "1"); });
  renderAll();
  loadFloors();
  loadAll().catch(reportError);
  loadHelpers().catch(reportError);
  loadAlerts().catch(reportError);
  HF.live({
    robot: (r) => { robots.set(r.id, { ...robots.get(r.id), ...r }); renderSoon(); },
    elevator: (e) => { elevators.set(e.elevatorId, e); renderSoon(); },
    delivery: (d) => { deliveryStates.set(d.id, d.state); renderSoon(); },
    visit: (v) => { visits.set(v.visit_id, v); renderSoon(); },
    alert: (a) => { alerts = [a, ...alerts.filter((x) => x.id !== a.id)]; renderSoon(); },
    helper: (n) => { helpers = [n, ...helpers.filter((x) => x.id !== n.id)]; renderSoon(); },
  }, setLive);
  setInterval(() => { loadAll().catch(reportError); loadHelpers().catch(reportError); loadAlerts().catch(reportError); }, REFRESH_S * 1000);
})();
