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
  const NOTES_POLL_S = 4;  // a new notification (PIN, arrival) reaches the page within this, stream or not
  const ETA_POLL_S = 5;
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
  function fillPlaceSelect(select, withChoose) {
    PlacePicker.fillSelect(select, places, withChoose);
  }

  async function loadPlaces() {
    const all = await api("GET", "/api/places");
    // Windows and departments send and receive files; docks, lifts, waiting zones do not.
    places = all.filter((p) => PLACE_KINDS.includes(p.kind) || /window|department|office/.test(p.kind));
    fillPlaceSelect($("my-place"), true);
    fillPlaceSelect($("rcpt-place"), true);
    const saved = store.get(PLACE_KEY);
    if (saved && places.some((p) => p.id === saved)) $("my-place").value = saved;
    renderMeHint();
  }

  /** Until the clerk has said where she sits, say so where she looks first. */
  function renderMeHint() {
    const none = !myPlace();
    $("me-hint").classList.toggle("hidden", !none);
    $("me").classList.toggle("needs-place", none);
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
      $("pin-box").scrollIntoView({ block: "nearest" });
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
    if (!place) { deliveries = []; renderLists(); renderReceive(); return; }
    deliveries = await api("GET", `/api/deliveries?place_id=${encodeURIComponent(place)}`);
    renderLists();
    renderNotes();
    renderReceive();
    loadEtas().catch(() => {});
  }

  const COLUMNS = 8;
  function deliveryTable(items, direction) {
    if (!items.length) return h("p", { class: "muted" }, t("clerk.list.empty"));
    const other = direction === "out" ? "recipient" : "sender";
    const rows = [];
    for (const d of items) {
      rows.push(deliveryRow(d, other));
      if (d.id === selectedId && !$("detail").dataset.placed) {
        $("detail").dataset.placed = "1";  // one expansion, under the first row of this delivery
        rows.push(h("tr", { class: "expand", "data-expand": d.id }, h("td", { colspan: COLUMNS }, $("detail"))));
      }
    }
    return h("table", { "data-testid": `${direction}-table` },
      h("thead", {}, h("tr", {},
        ["clerk.col.id", "clerk.col.state", direction === "out" ? "clerk.col.to" : "clerk.col.from",
          "clerk.col.docs", "clerk.col.robot", "clerk.col.comp", "clerk.col.updated", "clerk.col.action"].map((k, i) =>
          h("th", { scope: "col", class: i === 3 || i === 6 ? "narrow-hide" : null }, t(k))))),
      h("tbody", {}, rows));
  }

  function deliveryRow(d, other) {
    const dir = handoverDirection(d);
    const open = d.id === selectedId;
    return h("tr", {
      class: `clickable${open ? " selected" : ""}${dir ? " needs-me" : ""}`, "data-id": d.id, "data-state": d.state,
      onclick: () => selectDelivery(d.id),  // the row opens (and refreshes); its chevron button also closes
    },
    h("td", {}, h("button", { type: "button", class: "link mono expander", "aria-expanded": open ? "true" : "false",
      "aria-controls": "detail", onclick: (e) => { e.stopPropagation(); toggleDelivery(d.id); } },
    h("span", { class: "chev", "aria-hidden": "true" }, open ? "▾" : "▸"), d.id),
    d.priority === "urgent" ? [" ", h("span", { class: "badge urgent" }, t("priority.urgent"))] : null),
    h("td", {}, HF.badge(d.state), etaElement(d)),
    h("td", {}, `${HF.partyPlace(d[other])} · ${d[other].person}`),
    h("td", { class: "narrow-hide" }, d.documents.length),
    h("td", { class: dir ? "here" : null }, d.robot_id || "—"),
    h("td", { class: dir ? "here" : null }, d.compartment_id ?? "—"),
    h("td", { class: "narrow-hide" }, HF.time(d.updated_at)),
    h("td", {}, dir ? openAtRobotButton(d, dir) : null));
  }

  /** Incoming: files at my door first, then those on their way, then not yet loaded, then finished; newest first within. */
  const INCOMING_RANK = { awaiting_recipient: 0, in_transit: 1, loaded: 1, awaiting_load: 2, to_pickup: 2, assigned: 2, requested: 2 };
  const incomingRank = (d) => INCOMING_RANK[d.state] ?? 3;
  const newestFirst = (a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0);

  function renderLists() {
    const place = myPlace();
    hideUsedPin();
    const detailEl = $("detail");
    delete detailEl.dataset.placed;
    const outgoing = deliveries.filter((d) => d.sender.place_id === place);
    const incoming = deliveries.filter((d) => d.recipient.place_id === place)
      .sort((a, b) => incomingRank(a) - incomingRank(b) || newestFirst(a, b));
    $("outgoing").replaceChildren(deliveryTable(outgoing, "out"));
    $("incoming").replaceChildren(deliveryTable(incoming, "in"));
    if (!detailEl.dataset.placed) $("detail-home").append(detailEl);  // not in a list: shown on its own
  }

  /** The loading PIN is worth nothing once the files are in: take it off the screen. */
  function hideUsedPin() {
    const sent = deliveries.find((d) => d.id === $("pin-delivery").dataset.id);
    if (sent && !BEFORE_LOADING.has(sent.state)) {
      $("pin-box").classList.add("hidden");
      $("pin").textContent = "";
    }
  }

  /** A row opens to show its history and custody log; a second tap closes it. */
  function toggleDelivery(id) {
    if (id === selectedId) { closeDetail(); return; }
    selectDelivery(id);
  }

  function closeDetail() {
    selectedId = null; detail = null;
    renderLists(); renderDetail();
  }

  async function selectDelivery(id) {
    if (id !== selectedId) {
      selectedId = id;
      detail = null;
      renderDetail();
      renderLists();
    }
    await loadDetail();
    $("detail").focus({ preventScroll: true });
    $("detail").scrollIntoView({ block: "nearest" });
  }

  // ---------------------------------------------------------------------- ETA
  const MOVING = new Set(["assigned", "to_pickup", "loaded", "in_transit"]);
  const etas = new Map();  // delivery id -> {target, dueAt (ms, this page's clock)}

  async function loadEtas() {
    const moving = deliveries.filter((d) => MOVING.has(d.state));
    for (const id of [...etas.keys()]) if (!moving.some((d) => d.id === id)) etas.delete(id);
    await Promise.all(moving.map(async (d) => {
      try {
        const e = await api("GET", `/api/deliveries/${encodeURIComponent(d.id)}/eta`);
        if (e) etas.set(d.id, { target: e.target, dueAt: Date.now() + e.eta_s * 1000 });
        else etas.delete(d.id);
      } catch (_) { etas.delete(d.id); }
    }));
    updateEtas();
  }

  function etaText(id) {
    const e = etas.get(id);
    if (!e) return "";
    const left = Math.max(0, (e.dueAt - Date.now()) / 1000);
    if (left < 20) return t(`clerk.eta.soon.${e.target}`);
    const span = left < 90 ? t("clerk.eta.sec", { n: Math.round(left / 10) * 10 }) : t("clerk.eta.min", { n: Math.round(left / 60) });
    return t(`clerk.eta.${e.target}`, { t: span });
  }

  function etaElement(d) {
    return h("div", { class: "eta", "data-eta-id": d.id, "data-testid": "eta" }, etaText(d.id));
  }

  /** Counts down between fetches without rebuilding the lists. */
  function updateEtas() {
    document.querySelectorAll("[data-eta-id]").forEach((el) => { el.textContent = etaText(el.dataset.etaId); });
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
          h("button", { type: "button", onclick: closeDetail }, t("common.close")))),
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
    const before = notes.map((n) => n.id).join(",");
    notes = place ? await api("GET", `/api/notifications?place_id=${encodeURIComponent(place)}`) : [];
    renderNotes();
    renderReceive();
    return notes.map((n) => n.id).join(",") !== before;
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

  // ------------------------------------------------------------- receive view
  const PIN_IN_NOTE = /(?:一次性密码[：:]\s*|one-time PIN:\s*)(\d{6})/;
  const receiving = new Map();  // delivery id -> {opened, busy, msg: {key, vars, kind, serverText}}

  /** The recipient's one-time PIN of a delivery, read from this place's notifications (newest first). */
  function pinFromNotes(deliveryId) {
    for (const n of [...notes].sort((a, b) => (a.at < b.at ? 1 : -1))) {
      if (n.delivery_id !== deliveryId) continue;
      const m = PIN_IN_NOTE.exec(n.text_zh || "") || PIN_IN_NOTE.exec(n.text_en || "");
      if (m) return m[1];
    }
    return null;
  }

  function renderReceive() {
    const place = myPlace();
    const mine = deliveries.filter((d) => d.recipient.place_id === place);
    const arrived = mine.filter((d) => d.state === "awaiting_recipient" && d.robot_id && d.compartment_id != null)
      .sort((a, b) => (a.updated_at < b.updated_at ? -1 : 1));
    const coming = mine.filter((d) => d.state === "loaded" || d.state === "in_transit");
    for (const id of [...receiving.keys()]) if (!arrived.some((d) => d.id === id)) receiving.delete(id);
    $("receive-items").replaceChildren(...arrived.map(receiveItem));
    $("receive-coming").replaceChildren(...(coming.length ? [
      h("h3", {}, t("clerk.receive.coming")),
      h("ul", { class: "coming-list" }, coming.map((d) => {
        const pin = pinFromNotes(d.id);
        return h("li", { "data-id": d.id, "data-testid": "coming-item" },
          h("span", { class: "mono" }, d.id), " · ", `${HF.partyPlace(d.sender)} · ${d.sender.person}`, " ", HF.badge(d.state),
          h("span", { class: "eta", "data-eta-id": d.id }, etaText(d.id)),
          pin ? h("span", { class: "coming-pin" }, t("clerk.receive.pin"), " ", h("strong", { class: "mono" }, pin)) : null);
      })),
    ] : []));
    const show = Boolean(arrived.length || coming.length || $("receive-msg").textContent);
    $("receive").classList.toggle("hidden", !show);
  }

  function receiveItem(d) {
    const st = receiving.get(d.id) || { opened: false, busy: false, msg: null };
    receiving.set(d.id, st);
    const pin = pinFromNotes(d.id);
    const pinInput = pin ? null : h("input", { class: "receive-pin-input", inputmode: "numeric", maxlength: 6, autocomplete: "off",
      "aria-label": t("clerk.receive.pin"), value: st.typed || null, oninput: (e) => { st.typed = e.target.value; } });
    const msg = h("p", { class: `msg ${st.msg ? st.msg.kind : ""}`, role: "alert", title: st.msg && st.msg.serverText ? st.msg.serverText : null },
      st.msg ? t(st.msg.key, st.msg.vars) : "");
    const openBtn = h("button", { type: "button", class: "primary big", "data-testid": "receive-open", disabled: st.busy || null,
      onclick: () => receiveAction(d, "unlock", pin || (pinInput && pinInput.value.trim())) }, t("clerk.receive.open"));
    const closeBtn = h("button", { type: "button", class: "big", "data-testid": "receive-close", disabled: st.busy || null,
      onclick: () => receiveAction(d, "close") }, t("clerk.receive.close"));
    return h("article", { class: "receive-item", "data-id": d.id, "data-testid": "receive-item" },
      h("p", { class: "receive-head" }, h("strong", {}, t("clerk.receive.arrived")), " ",
        t("clerk.receive.from", { id: d.id, from: `${HF.partyPlace(d.sender)} · ${d.sender.person}`, n: d.documents.length })),
      h("div", { class: "receive-body" },
        h("div", { class: "receive-fact" }, h("div", { class: "label" }, t("clerk.receive.pin")),
          pin ? h("div", { class: "pin", "data-testid": "recipient-pin" }, pin) : [pinInput, h("div", { class: "small muted" }, t("clerk.receive.nopin"))]),
        h("div", { class: "receive-fact" }, h("div", { class: "label" }, t("clerk.receive.robot")),
          h("div", { class: "big-fact", "data-testid": "receive-robot" }, d.robot_id)),
        h("div", { class: "receive-fact" }, h("div", { class: "label" }, t("clerk.receive.comp")),
          h("div", { class: "big-fact", "data-testid": "receive-comp" }, t("clerk.receive.compno", { n: d.compartment_id }))),
        h("div", { class: "receive-actions" }, st.opened ? closeBtn : openBtn)),
      msg);
  }

  async function receiveAction(d, action, pin) {
    const st = receiving.get(d.id) || { opened: false, busy: false, msg: null };
    receiving.set(d.id, st);
    const person = myName() || d.recipient.person;
    const vars = { robot: d.robot_id, comp: d.compartment_id, id: d.id };
    const path = `/api/robots/${encodeURIComponent(d.robot_id)}/compartments/${d.compartment_id}/${action}`;
    if (action === "unlock" && !PIN_RE.test(pin || "")) {
      st.msg = { key: "clerk.robot.pinformat", kind: "error" };
      renderReceive();
      return;
    }
    st.busy = true;
    st.msg = { key: "clerk.robot.waiting", kind: "" };
    renderReceive();
    try {
      const res = await api("POST", path, action === "unlock" ? { pin, person } : { person });
      if (action === "unlock") {
        st.opened = true;
        st.msg = { key: "clerk.receive.opened", vars, kind: "ok", serverText: res.message };
      } else {
        receiving.delete(d.id);
        showReceiveDone(d.id);
      }
    } catch (e) {
      const [key, errVars] = robotError(e.message);
      st.msg = { key, vars: errVars, kind: "error", serverText: e.message };
    } finally {
      st.busy = false;
    }
    renderReceive();
    const focus = document.querySelector(`#receive-items [data-id='${d.id}'] button`);
    if (focus) focus.focus();
    if (action === "close") loadDeliveries().catch(() => {});
  }

  let receiveDone = null;
  function showReceiveDone(id) {
    receiveDone = id;
    renderReceiveDone();
  }

  function renderReceiveDone() {
    showMsg($("receive-msg"), receiveDone ? t("clerk.receive.done", { id: receiveDone }) : "", receiveDone ? "ok" : "");
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
    PlacePicker.attach($("my-place"), () => places);
    PlacePicker.attach($("rcpt-place"), () => places.filter((p) => p.id !== myPlace()));
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
      renderMeHint();
      receiveDone = null; renderReceiveDone(); receiving.clear(); etas.clear();
      selectedId = null; detail = null; renderDetail();
      refreshAll().catch((e) => showMsg($("send-msg"), t("common.error", { msg: e.message }), "error"));
    });
    document.addEventListener("hf:lang", () => {
      fillPlaceSelect($("my-place"), true);
      fillPlaceSelect($("rcpt-place"), true);
      renderLists(); renderNotes(); renderDetail(); renderRobotFor(); renderRobotMsg();
      renderReceiveDone(); renderReceive(); updateEtas();
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
    setInterval(async () => {
      try { if (await loadNotes()) await loadDeliveries(); } catch (_) { /* the next poll tries again */ }
    }, NOTES_POLL_S * 1000);
    setInterval(() => {
      if (deliveries.some((d) => MOVING.has(d.state))) loadEtas().catch(() => {});
      else updateEtas();
    }, ETA_POLL_S * 1000);
  }

  init();
})();
