/* Clerk page: send files, watch outgoing/incoming deliveries of my place, open a robot's compartment. */
"use strict";

(() => {
  const { t, h, api } = HF;
  const $ = (id) => document.getElementById(id);
  const PLACE_KEY = "hallfleet.clerk.place";
  const NAME_KEY = "hallfleet.clerk.name";
  const PLACE_KINDS = ["service_window", "pickup_window", "department"];
  const CANCELLABLE = new Set(["requested", "assigned", "to_pickup", "awaiting_load"]);
  const REFRESH_S = 20;  // fallback poll besides the live stream
  const PIN_RE = /^\d{6}$/;
  const BEFORE_LOADING = new Set(["requested", "assigned", "to_pickup", "awaiting_load"]);

  const store = {
    get: (k) => { try { return localStorage.getItem(k) || ""; } catch (_) { return ""; } },
    set: (k, v) => { try { localStorage.setItem(k, v); } catch (_) { /* private mode */ } },
  };

  let places = [];
  let deliveries = [];
  let notes = [];
  let selectedId = null;
  let detail = null;

  const myPlace = () => $("my-place").value;
  const myName = () => $("my-name").value.trim();

  function showMsg(el, text, kind) {
    el.textContent = text || "";
    el.className = `msg ${kind || ""}`;
    el.title = "";
  }

  // ------------------------------------------------------------------ places
  function kindGroup(kind) { return PLACE_KINDS.includes(kind) ? kind : "other"; }

  function fillPlaceSelect(select, withChoose) {
    const keep = select.value;
    select.replaceChildren();
    if (withChoose) select.append(h("option", { value: "" }, t("clerk.place.choose")));
    for (const kind of [...PLACE_KINDS, "other"]) {
      const group = places.filter((p) => kindGroup(p.kind) === kind);
      if (!group.length) continue;
      select.append(h("optgroup", { label: t(`kind.${kind}`) },
        group.map((p) => h("option", { value: p.id }, `${HF.placeName(p)} · ${HF.floor(p.level)}`))));
    }
    if (keep && places.some((p) => p.id === keep)) select.value = keep;
  }

  async function loadPlaces() {
    const all = await api("GET", "/api/places");
    // Windows and departments send and receive files; docks, lifts, waiting zones do not.
    places = all.filter((p) => PLACE_KINDS.includes(p.kind) || /window|department|office/.test(p.kind));
    fillPlaceSelect($("my-place"), true);
    fillPlaceSelect($("rcpt-place"), true);
    const saved = store.get(PLACE_KEY);
    if (saved && places.some((p) => p.id === saved)) $("my-place").value = saved;
  }

  // ---------------------------------------------------------------- send form
  function addDocRow(barcode = "", title = "") {
    const n = $("doc-rows").children.length + 1;
    const row = h("div", { class: "doc-row" },
      h("input", { name: `barcode-${n}`, "data-i18n-placeholder": "clerk.doc.barcode", "data-i18n-aria": "clerk.doc.barcode",
        placeholder: t("clerk.doc.barcode"), "aria-label": t("clerk.doc.barcode"), maxlength: 64, class: "doc-barcode", value: barcode }),
      h("input", { name: `title-${n}`, "data-i18n-placeholder": "clerk.doc.title", "data-i18n-aria": "clerk.doc.title",
        placeholder: t("clerk.doc.title"), "aria-label": t("clerk.doc.title"), maxlength: 200, class: "doc-title", value: title }),
      h("button", { type: "button", class: "danger", "data-i18n": "clerk.doc.remove",
        onclick: () => { if ($("doc-rows").children.length > 1) row.remove(); } }, t("clerk.doc.remove")));
    $("doc-rows").append(row);
    return row;
  }

  async function send(ev) {
    ev.preventDefault();
    const msg = $("send-msg");
    if (!myPlace()) return showMsg(msg, t("clerk.send.needplace"), "error");
    const documents = [...$("doc-rows").children]
      .map((r) => ({ barcode: r.querySelector(".doc-barcode").value.trim(), title: r.querySelector(".doc-title").value.trim() }))
      .filter((d) => d.barcode || d.title);
    const missing = [
      [!$("rcpt-place").value, "clerk.recipient.place"], [!$("rcpt-person").value.trim(), "clerk.recipient.person"],
      [!$("sender-person").value.trim(), "clerk.sender.person"],
      [!documents.length || documents.some((d) => !d.barcode), "clerk.doc.barcode"],
    ].filter(([bad]) => bad).map(([, key]) => t(key));
    if (missing.length) return showMsg(msg, t("clerk.send.missing", { fields: missing.join(HF.lang === "en" ? ", " : "、") }), "error");
    const body = {
      sender: { place_id: myPlace(), person: $("sender-person").value.trim() },
      recipient: { place_id: $("rcpt-place").value, person: $("rcpt-person").value.trim() },
      documents, priority: $("priority").value, note: $("note").value.trim(),
    };
    $("send-btn").disabled = true;
    try {
      const res = await api("POST", "/api/deliveries", body);
      showMsg(msg, "", "");
      $("pin").textContent = res.sender_pin;
      $("pin-delivery").textContent = t("clerk.pin.delivery", { id: res.delivery.id });
      $("pin-delivery").dataset.id = res.delivery.id;
      $("pin-box").classList.remove("hidden");
      $("doc-rows").replaceChildren();
      addDocRow();
      $("note").value = "";
      await loadDeliveries();
    } catch (e) {
      showMsg(msg, t("common.error", { msg: e.message }), "error");
    } finally {
      $("send-btn").disabled = false;
    }
  }

  // ----------------------------------------------------------- hand-over help
  /** "out" when my files wait for me to load them, "in" when they wait for me to take them; else null. */
  function handoverDirection(d) {
    if (!d.robot_id || d.compartment_id == null) return null;
    if (d.state === "awaiting_load" && d.sender.place_id === myPlace()) return "out";
    if (d.state === "awaiting_recipient" && d.recipient.place_id === myPlace()) return "in";
    return null;
  }

  function whereText(d) {
    return t("clerk.where", { robot: d.robot_id, comp: d.compartment_id });
  }

  function openAtRobotButton(d, dir) {
    return h("button", {
      type: "button", class: "primary open-at-robot", "data-testid": "open-at-robot", "data-id": d.id,
      onclick: (e) => { e.stopPropagation(); openAtRobot(d, dir); },
    }, t("clerk.robot.openhere"));
  }

  /** Pre-fill the "at the robot" panel for this delivery and put the cursor in the PIN field. */
  function openAtRobot(d, dir) {
    $("robot-id").value = d.robot_id;
    $("robot-comp").value = String(d.compartment_id);
    $("robot-person").value = myName() || (dir === "out" ? d.sender.person : d.recipient.person);
    $("robot-pin").value = "";
    robotMsg("", null, "");
    const forEl = $("robot-for");
    Object.assign(forEl.dataset, { id: d.id, dir, robot: d.robot_id, comp: String(d.compartment_id) });
    renderRobotFor();
    $("robot-title").scrollIntoView({ block: "start", behavior: "instant" });
    $("robot-pin").focus();
  }

  function renderRobotFor() {
    const el = $("robot-for");
    const { id, dir, robot, comp } = el.dataset;
    if (!id) { el.classList.add("hidden"); return; }
    el.textContent = t(dir === "out" ? "clerk.robot.for.load" : "clerk.robot.for.take", { id, robot, comp });
    el.classList.remove("hidden");
  }

  /** The robot answers in English; give the clerk the common answers in her language: [key, vars]. */
  function robotError(message) {
    let m = /wrong PIN for compartment (\d+); (\d+) attempts? left/.exec(message);
    if (m) return ["clerk.robot.err.wrongpin", { comp: m[1], left: m[2] }];
    m = /compartment (\d+) is (?:now )?blocked|wrong PIN; compartment (\d+) is now blocked/.exec(message);
    if (m) return ["clerk.robot.err.blocked", { comp: m[1] || m[2] }];
    m = /compartment (\d+) is not expecting a hand-over/.exec(message);
    if (m) return ["clerk.robot.err.notexpecting", { comp: m[1] }];
    return ["common.error", { msg: message }];
  }

  /** The "at the robot" message, kept as key + vars so a language switch re-words it. */
  let lastRobotMsg = null;
  function robotMsg(key, vars, kind, serverText) {
    lastRobotMsg = key ? { key, vars, kind, serverText } : null;
    renderRobotMsg();
  }

  function renderRobotMsg() {
    const el = $("robot-msg");
    const m = lastRobotMsg;
    showMsg(el, m ? t(m.key, m.vars) : "", m ? m.kind : "");
    if (m && m.serverText) el.title = m.serverText;
  }

  // --------------------------------------------------------------- deliveries
  async function loadDeliveries() {
    const place = myPlace();
    if (!place) { deliveries = []; renderLists(); return; }
    deliveries = await api("GET", `/api/deliveries?place_id=${encodeURIComponent(place)}`);
    renderLists();
    renderNotes();
  }

  function deliveryTable(items, direction) {
    if (!items.length) return h("p", { class: "muted" }, t("clerk.list.empty"));
    const other = direction === "out" ? "recipient" : "sender";
    return h("table", { "data-testid": `${direction}-table` },
      h("thead", {}, h("tr", {},
        ["clerk.col.id", "clerk.col.state", direction === "out" ? "clerk.col.to" : "clerk.col.from",
          "clerk.col.docs", "clerk.col.robot", "clerk.col.comp", "clerk.col.updated", "clerk.col.action"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, items.map((d) => deliveryRow(d, other))));
  }

  function deliveryRow(d, other) {
    const dir = handoverDirection(d);
    return h("tr", {
      class: `clickable${d.id === selectedId ? " selected" : ""}${dir ? " needs-me" : ""}`, "data-id": d.id, "data-state": d.state,
      onclick: () => selectDelivery(d.id),
    },
    h("td", {}, h("button", { type: "button", class: "link mono", onclick: (e) => { e.stopPropagation(); selectDelivery(d.id); } }, d.id),
      d.priority === "urgent" ? [" ", h("span", { class: "badge urgent" }, t("priority.urgent"))] : null),
    h("td", {}, HF.badge(d.state)),
    h("td", {}, `${HF.partyPlace(d[other])} · ${d[other].person}`),
    h("td", {}, d.documents.length),
    h("td", { class: dir ? "here" : null }, d.robot_id || "—"),
    h("td", { class: dir ? "here" : null }, d.compartment_id ?? "—"),
    h("td", {}, HF.time(d.updated_at)),
    h("td", {}, dir ? openAtRobotButton(d, dir) : null));
  }

  function renderLists() {
    const place = myPlace();
    hideUsedPin();
    $("outgoing").replaceChildren(deliveryTable(deliveries.filter((d) => d.sender.place_id === place), "out"));
    $("incoming").replaceChildren(deliveryTable(deliveries.filter((d) => d.recipient.place_id === place), "in"));
  }

  /** The loading PIN is worth nothing once the files are in: take it off the screen. */
  function hideUsedPin() {
    const sent = deliveries.find((d) => d.id === $("pin-delivery").dataset.id);
    if (sent && !BEFORE_LOADING.has(sent.state)) {
      $("pin-box").classList.add("hidden");
      $("pin").textContent = "";
    }
  }

  async function selectDelivery(id) {
    selectedId = id;
    renderLists();
    await loadDetail();
    $("detail").focus({ preventScroll: false });
  }

  async function loadDetail() {
    if (!selectedId) return;
    try {
      detail = await api("GET", `/api/deliveries/${encodeURIComponent(selectedId)}`);
    } catch (e) {
      detail = null;
      $("detail").replaceChildren(h("p", { class: "msg error" }, t("common.error", { msg: e.message })));
      $("detail").classList.remove("hidden");
      return;
    }
    renderDetail();
  }

  function renderDetail() {
    const box = $("detail");
    if (!detail) { box.classList.add("hidden"); return; }
    const d = detail;
    const cancelMsg = h("p", { class: "msg", role: "alert" });
    box.replaceChildren(h("div", {},
      h("div", { class: "row", style: "justify-content:space-between;align-items:center" },
        h("h2", {}, t("clerk.detail.title", { id: d.id }), " ", HF.badge(d.state)),
        h("div", { class: "row" },
          CANCELLABLE.has(d.state) ? h("button", { type: "button", class: "danger", onclick: () => cancel(d.id, cancelMsg) }, t("clerk.cancel")) : null,
          h("button", { type: "button", onclick: () => { selectedId = null; detail = null; renderLists(); renderDetail(); } }, t("common.close")))),
      h("p", {}, `${HF.partyPlace(d.sender)} · ${d.sender.person}  →  ${HF.partyPlace(d.recipient)} · ${d.recipient.person}`,
        d.robot_id ? `  |  ${t("clerk.col.robot")} ${d.robot_id}` : "",
        d.compartment_id != null ? `  ${t("clerk.col.comp")} ${d.compartment_id}` : ""),
      handoverDirection(d) ? h("div", { class: "handover", "data-testid": "handover" },
        h("p", {}, h("strong", {}, whereText(d)), " ",
          t(handoverDirection(d) === "out" ? "clerk.handover.load" : "clerk.handover.take")),
        openAtRobotButton(d, handoverDirection(d))) : null,
      d.note ? h("p", {}, t("clerk.detail.note", { note: d.note })) : null,
      d.failure_reason ? h("p", { class: "msg error" }, t("clerk.detail.failure", { reason: d.failure_reason })) : null,
      cancelMsg,
      h("h3", {}, t("clerk.detail.docs")),
      h("ul", {}, d.documents.map((doc) => h("li", {}, h("span", { class: "mono" }, doc.barcode), doc.title ? ` ${doc.title}` : ""))),
      h("h3", {}, t("clerk.detail.history")),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["clerk.col.time", "clerk.col.state", "clerk.col.message"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, (d.history || []).map((e) => h("tr", {}, h("td", {}, HF.time(e.at)), h("td", {}, HF.badge(e.state)), h("td", {}, e.message)))))),
      h("h3", {}, t("clerk.detail.custody")),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["#", "clerk.col.time", "clerk.col.kind", "clerk.col.actor", "clerk.col.robot", "clerk.col.comp", "clerk.col.place", "clerk.col.detail"]
          .map((k) => h("th", { scope: "col" }, k === "#" ? k : t(k))))),
        h("tbody", {}, (d.custody || []).map((c) => h("tr", {},
          h("td", {}, c.seq), h("td", {}, HF.time(c.at)), h("td", { "data-kind": c.kind }, HF.label("custody", c.kind)), h("td", {}, c.actor),
          h("td", {}, c.robot_id || "—"), h("td", {}, c.compartment_id ?? "—"),
          h("td", {}, placeLabel(c.place_id)), h("td", { title: c.hash }, c.detail))))))));
    box.classList.remove("hidden");
  }

  function placeLabel(id) {
    if (!id) return "—";
    const p = places.find((x) => x.id === id);
    return p ? HF.placeName(p) : id;
  }

  async function cancel(id, msgEl) {
    if (!myName()) { showMsg(msgEl, t("clerk.cancel.needname"), "error"); $("my-name").focus(); return; }
    if (!confirm(t("clerk.cancel.confirm", { id }))) return;
    try {
      await api("POST", `/api/deliveries/${encodeURIComponent(id)}/cancel`, { person: myName() });
      await Promise.all([loadDeliveries(), loadDetail()]);
    } catch (e) {
      showMsg(msgEl, t("common.error", { msg: e.message }), "error");
    }
  }

  // ------------------------------------------------------------ notifications
  async function loadNotes() {
    const place = myPlace();
    notes = place ? await api("GET", `/api/notifications?place_id=${encodeURIComponent(place)}`) : [];
    renderNotes();
  }

  function renderNotes() {
    const list = $("notes");
    if (!notes.length) { list.replaceChildren(h("li", { class: "muted" }, t("clerk.notes.empty"))); return; }
    const sorted = [...notes].sort((a, b) => (a.at < b.at ? 1 : -1));
    const offered = new Set();  // the button goes on the newest note of each delivery only
    list.replaceChildren(...sorted.map((n) => {
      const d = deliveries.find((x) => x.id === n.delivery_id);
      const dir = d && !offered.has(d.id) ? handoverDirection(d) : null;
      if (dir) offered.add(d.id);
      return h("li", { "data-delivery": n.delivery_id || "" },
        h("div", { class: "small muted" }, `${HF.time(n.at)} · `,
          h("button", { type: "button", class: "link mono", onclick: () => selectDelivery(n.delivery_id) }, n.delivery_id)),
        h("div", { class: "text" }, HF.lang === "en" ? n.text_en : n.text_zh),
        dir ? h("div", { class: "note-action" }, whereText(d), " ", openAtRobotButton(d, dir)) : null);
    }));
  }

  // -------------------------------------------------------------- at the robot
  function compartmentPath(action) {
    const robot = $("robot-id").value.trim();
    const comp = parseInt($("robot-comp").value, 10);
    return `/api/robots/${encodeURIComponent(robot)}/compartments/${comp}/${action}`;
  }

  function robotVars() {
    return { robot: $("robot-id").value.trim(), comp: parseInt($("robot-comp").value, 10) };
  }

  async function robotAction(action) {
    const person = $("robot-person").value.trim() || myName();
    if (!$("robot-id").value.trim()) { robotMsg("clerk.robot.needrobot", null, "error"); $("robot-id").focus(); return; }
    let focusAfter = null;
    try {
      if (action === "unlock") {
        const pin = $("robot-pin").value.trim();
        if (!PIN_RE.test(pin)) { robotMsg("clerk.robot.pinformat", null, "error"); $("robot-pin").focus(); return; }
        setRobotBusy(true);
        const res = await api("POST", compartmentPath("unlock"), { pin, person });
        robotMsg("clerk.robot.opened.at", robotVars(), "ok", res.message);
        $("robot-pin").value = "";
        focusAfter = $("close-btn");  // next for her hands: close after the files are in or out
      } else {
        setRobotBusy(true);
        const res = await api("POST", compartmentPath("close"), { person });
        robotMsg("clerk.robot.locked.at", robotVars(), "ok", res.message);
        for (const k of ["id", "dir", "robot", "comp"]) delete $("robot-for").dataset[k];
        renderRobotFor();
      }
      loadDeliveries().catch(() => {});
    } catch (e) {
      robotMsg(...robotError(e.message), "error", e.message);
      if (action === "unlock") focusAfter = $("robot-pin");
    } finally {
      setRobotBusy(false);  // a disabled button cannot take focus: re-enable first
      if (focusAfter) { focusAfter.focus(); if (focusAfter.select) focusAfter.select(); }
    }
  }

  /** The robot takes a moment to answer: say so, and keep a second click from sending twice. */
  function setRobotBusy(busy) {
    $("unlock-btn").disabled = busy;
    $("close-btn").disabled = busy;
    $("robot-form").setAttribute("aria-busy", busy ? "true" : "false");
    if (busy) robotMsg("clerk.robot.waiting", null, "");
  }

  async function loadRobotIds() {
    try {
      const robots = await api("GET", "/api/robots");
      $("robot-ids").replaceChildren(...robots.filter((r) => r.kind === "delivery").map((r) => h("option", { value: r.id })));
    } catch (_) { /* the datalist is only a convenience */ }
  }

  // ------------------------------------------------------------------ wiring
  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => { refreshAll().catch(() => {}); }, 150);
  }

  async function refreshAll() {
    await Promise.all([loadDeliveries(), loadNotes()]);
    if (selectedId) await loadDetail();
  }

  function setLive(ok) {
    const el = $("live");
    el.textContent = ok ? t("common.live.ok") : t("common.live.lost");
    el.classList.toggle("lost", !ok);
    el.dataset.ok = ok ? "1" : "0";
  }

  async function init() {
    $("my-name").value = store.get(NAME_KEY);
    $("sender-person").value = store.get(NAME_KEY);
    addDocRow();
    $("add-doc").addEventListener("click", () => addDocRow().querySelector("input").focus());
    $("send-form").addEventListener("submit", send);
    $("robot-form").addEventListener("submit", (e) => { e.preventDefault(); robotAction("unlock"); });
    $("close-btn").addEventListener("click", () => robotAction("close"));
    $("my-name").addEventListener("change", () => {
      store.set(NAME_KEY, myName());
      if (!$("sender-person").value.trim()) $("sender-person").value = myName();
    });
    $("my-place").addEventListener("change", () => {
      store.set(PLACE_KEY, myPlace());
      selectedId = null; detail = null; renderDetail();
      refreshAll().catch((e) => showMsg($("send-msg"), t("common.error", { msg: e.message }), "error"));
    });
    document.addEventListener("hf:lang", () => {
      fillPlaceSelect($("my-place"), true);
      fillPlaceSelect($("rcpt-place"), true);
      renderLists(); renderNotes(); renderDetail(); renderRobotFor(); renderRobotMsg();
      if ($("live").dataset.ok) setLive($("live").dataset.ok === "1");
      const id = $("pin-delivery").dataset.id;
      if (id) $("pin-delivery").textContent = t("clerk.pin.delivery", { id });
    });

    renderLists(); renderNotes();
    try {
      await loadPlaces();
      await refreshAll();
    } catch (e) {
      showMsg($("send-msg"), t("common.error", { msg: e.message }), "error");
    }
    loadRobotIds();
    HF.live({
      delivery: (data) => {
        if (data.id === selectedId || deliveries.some((d) => d.id === data.id) || myPlace()) refreshSoon();
      },
    }, setLive);
    setInterval(() => { refreshAll().catch(() => {}); }, REFRESH_S * 1000);
  }

  init();
})();
