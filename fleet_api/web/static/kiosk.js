/* Visitor kiosk: one big question box; the answer in large type, spoken by a guidance robot.
   ?robot=gr1 pins the kiosk to the robot it is mounted on. */
"use strict";

(() => {
  const { t, h, api } = HF;
  const $ = (id) => document.getElementById(id);
  const CHIPS = ["kiosk.s1", "kiosk.s2", "kiosk.s3", "kiosk.s4"];
  const robotId = new URLSearchParams(location.search).get("robot") || undefined;
  let busy = false;

  function renderChips() {
    $("chips").replaceChildren(...CHIPS.map((key) => h("li", {},
      h("button", { type: "button", onclick: () => { $("question").value = t(key); ask(); } }, t(key)))));
  }

  function showAnswer(text, isError) {
    $("answer").classList.remove("hidden");
    $("answer").classList.toggle("error", Boolean(isError));
    $("answer-text").textContent = text;
  }

  async function ask() {
    const text = $("question").value.trim();
    if (!text) { showAnswer(t("kiosk.empty"), true); $("question").focus(); return; }
    if (busy) return;
    busy = true;
    $("ask-btn").disabled = true;
    $("status").textContent = "";
    showAnswer(t("kiosk.thinking"), false);
    try {
      const res = await api("POST", "/api/guidance/ask",
        { text, language: HF.lang === "en" ? "en" : "zh-CN", robot_id: robotId });
      showAnswer(res.answer, false);
      $("status").textContent = res.spoken ? t("kiosk.spoken", { robot: res.robot_id })
        : res.robot_id ? t("kiosk.notspoken", { robot: res.robot_id }) : t("kiosk.screenonly");
    } catch (e) {
      // 409: no guidance robot online. A visitor gets a plain instruction, not the server's wording.
      showAnswer(e.status === 409 ? t("kiosk.norobot") : t("common.error", { msg: e.message }), true);
    } finally {
      busy = false;
      $("ask-btn").disabled = false;
    }
  }

  $("ask-form").addEventListener("submit", (e) => { e.preventDefault(); ask(); });
  document.addEventListener("hf:lang", () => {
    renderChips();
    $("answer").classList.add("hidden");
    $("status").textContent = "";
  });
  renderChips();
})();
