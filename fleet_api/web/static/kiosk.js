/* Visitor kiosk of a guidance robot: ask (typed or a common-question chip), read the answer with the
   materials checklist, call a staff helper (帮办), or have the robot lead the way to the window.
   ?robot=gr1 pins the kiosk to the robot it is mounted on; without it no robot can lead. */
"use strict";

(() => {
  const { t, h, api } = HF;
  const $ = (id) => document.getElementById(id);
  const CHIPS = ["kiosk.s1", "kiosk.s2", "kiosk.s3", "kiosk.s4"];
  const robotId = new URLSearchParams(location.search).get("robot") || undefined;
  const IDLE_RESET_MS = 3 * 60 * 1000;  // a quiet kiosk belongs to the next visitor: new conversation
  const LEAD_POLL_MS = 1000;
  const LEAD_GIVE_UP_MS = 15 * 60 * 1000;

  let sessionId = newSessionId();
  let busy = false;
  let last = null;        // the last answer shown (kept to redraw it in the other language's labels)
  let idleTimer = null;
  let leadTimer = null;

  function newSessionId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);  // works outside secure contexts, unlike randomUUID
    return "k" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const lang = () => (HF.lang === "en" ? "en" : "zh-CN");
  const show = (el, on) => el.classList.toggle("hidden", !on);

  function renderChips() {
    $("chips").replaceChildren(...CHIPS.map((key) => h("li", {},
      h("button", { type: "button", onclick: () => { $("question").value = t(key); ask(); } }, t(key)))));
  }

  function notice(id, text, kind) {
    const el = $(id);
    el.textContent = text || "";
    el.className = `kiosk-notice${kind ? ` ${kind}` : ""}`;
    show(el, Boolean(text));
  }

  function showAnswer(text, isError) {
    show($("answer"), true);
    $("answer").classList.toggle("error", Boolean(isError));
    $("answer-text").textContent = text;
    if (isError) { show($("details"), false); show($("lead-btn"), false); show($("answer-helper-btn"), false); }
  }

  // ---------------------------------------------------------------- checklist
  function fee(d) {
    const note = lang() === "en" ? d.fee_note_en : d.fee_note_zh;
    const base = d.fee === 0 ? t("kiosk.fee.free") : t("kiosk.fee.amount", { n: d.fee });
    if (!note) return base;
    return lang() === "en" ? `${base} (${note})` : `${base}（${note}）`;
  }

  function where(d) {
    return t("kiosk.where", { window: d.window, zone: d.zone, floor: d.floor ?? "—" });
  }

  function renderDetails(d) {
    show($("details"), Boolean(d));
    if (!d) return;
    const materials = lang() === "en" ? d.materials_en : d.materials_zh;
    $("materials").replaceChildren(...materials.map((m, i) => h("li", {},
      h("label", { class: "kiosk-check" },
        h("input", { type: "checkbox", "aria-describedby": "materials-title" }),
        h("span", { class: "kiosk-check-n" }, `${i + 1}.`), h("span", {}, m)))));
    const facts = [
      ["kiosk.f.where", where(d)],
      ["kiosk.f.dept", lang() === "en" ? d.department_en : d.department_zh],
      ["kiosk.f.fee", fee(d)],
      ["kiosk.f.days", d.processing_days === 0 ? t("kiosk.days.spot") : t(d.processing_days === 1 ? "kiosk.days.one" : "kiosk.days.n", { n: d.processing_days })],
      ["kiosk.f.online", d.online ? t("kiosk.online.yes") : t("kiosk.online.no")],
    ];
    $("facts").replaceChildren(...facts.map(([key, value]) => h("div", { class: "kiosk-fact", "data-fact": key.split(".").pop() },
      h("dt", {}, t(key)), h("dd", {}, value))));
  }

  function renderResult(res) {
    showAnswer(res.answer, false);
    renderDetails(res.details);
    show($("lead-btn"), Boolean(robotId && res.details && res.details.window_place_ids.length));
    show($("answer-helper-btn"), Boolean(res.needs_helper && !res.helper_notified));
    show($("restart-btn"), true);
    if (res.needs_helper && res.helper_notified) notice("helper-msg", t("kiosk.helper.auto"), "ok");
    $("status").textContent = res.spoken ? t("kiosk.spoken", { robot: res.robot_id })
      : res.robot_id ? t("kiosk.notspoken", { robot: res.robot_id }) : t("kiosk.screenonly");
  }

  // ---------------------------------------------------------------- ask
  async function ask() {
    const text = $("question").value.trim();
    if (!text) { showAnswer(t("kiosk.empty"), true); $("question").focus(); return; }
    if (busy) return;
    busy = true;
    touch();
    $("ask-btn").disabled = true;
    $("status").textContent = "";
    notice("helper-msg", "");
    showAnswer(t("kiosk.thinking"), false);
    show($("details"), false); show($("lead-btn"), false); show($("answer-helper-btn"), false);
    try {
      last = await api("POST", "/api/kiosk/ask",
        { text, language: lang(), robot_id: robotId, session_id: sessionId });
      renderResult(last);
    } catch (e) {
      last = null;
      // 409: no guidance robot online. A visitor gets a plain instruction, not the server's wording.
      showAnswer(e.status === 409 ? t("kiosk.norobot") : t("common.error", { msg: e.message }), true);
    } finally {
      busy = false;
      $("ask-btn").disabled = false;
    }
  }

  // ---------------------------------------------------------------- helper
  async function callHelper() {
    touch();
    for (const id of ["helper-btn", "answer-helper-btn"]) $(id).disabled = true;
    notice("helper-msg", t("kiosk.helper.sending"));
    try {
      const res = await api("POST", "/api/kiosk/helper", {
        robot_id: robotId, question: $("question").value.trim(), language: lang(), session_id: sessionId,
      });
      notice("helper-msg", lang() === "en" ? res.message_en : res.message_zh, "ok");
      show($("answer-helper-btn"), false);
    } catch (e) {
      notice("helper-msg", t("kiosk.helper.failed"), "error");
    } finally {
      for (const id of ["helper-btn", "answer-helper-btn"]) $(id).disabled = false;
    }
  }

  // ---------------------------------------------------------------- lead
  const placeName = (lead) => (lang() === "en" ? lead.place_name_en : lead.place_name_zh);

  function showLead(lead) {
    const key = { leading: "kiosk.lead.going", arrived: "kiosk.lead.arrived", stopped: "kiosk.lead.stopped" }[lead.state];
    notice("lead-msg", t(key, { place: placeName(lead) }), lead.state === "stopped" ? "error" : lead.state === "arrived" ? "ok" : "busy");
    $("lead-msg").dataset.state = lead.state;
    $("lead-btn").disabled = lead.state === "leading";
  }

  async function lead() {
    if (!last || !last.item || !robotId) return;
    touch();
    $("lead-btn").disabled = true;
    let resp, data = null;
    try {
      resp = await fetch("/api/kiosk/lead", {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ robot_id: robotId, item_id: last.item, language: lang() }),
      });
      data = await resp.json().catch(() => null);
    } catch (_) {
      resp = null;
    }
    if (resp && resp.ok && data) {
      showLead(data);
      followLead(Date.now());
      return;
    }
    // a refusal (busy, offline, e-stopped) carries its own words for the visitor in both languages
    $("lead-btn").disabled = false;
    const refusal = data && (lang() === "en" ? data.message_en : data.message_zh);
    notice("lead-msg", refusal || (resp ? t("kiosk.lead.failed") : t("common.network")), "error");
    $("lead-msg").dataset.state = "refused";
  }

  function followLead(since) {
    clearTimeout(leadTimer);
    leadTimer = setTimeout(async () => {
      if (Date.now() - since > LEAD_GIVE_UP_MS) { $("lead-btn").disabled = false; return; }
      try {
        const now = await api("GET", `/api/kiosk/lead/${encodeURIComponent(robotId)}`);
        showLead(now);
        if (now.state === "leading") followLead(since);
        else touch();
      } catch (_) {
        followLead(since);  // a dropped request: try again on the next tick
      }
    }, LEAD_POLL_MS);
  }

  // ---------------------------------------------------------------- a new visitor
  function restart() {
    sessionId = newSessionId();
    last = null;
    $("question").value = "";
    show($("answer"), false);
    show($("restart-btn"), false);
    show($("lead-btn"), false);
    notice("helper-msg", "");
    if ($("lead-msg").dataset.state !== "leading") notice("lead-msg", "");
    $("status").textContent = "";
  }

  function touch() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(restart, IDLE_RESET_MS);
  }

  $("ask-form").addEventListener("submit", (e) => { e.preventDefault(); ask(); });
  $("helper-btn").addEventListener("click", callHelper);
  $("answer-helper-btn").addEventListener("click", callHelper);
  $("lead-btn").addEventListener("click", lead);
  $("restart-btn").addEventListener("click", restart);
  document.addEventListener("hf:lang", () => {
    renderChips();
    // the answer text is in the language it was asked in: start over rather than mix languages
    restart();
    renderRobot();
  });
  function renderRobot() {
    if (robotId) $("robot-badge").textContent = t("kiosk.robot", { id: robotId });
    show($("robot-badge"), Boolean(robotId));
  }
  renderRobot();
  renderChips();
})();
