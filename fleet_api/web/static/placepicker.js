/* Place pickers for the clerk page: a <select> grouped by floor, and a type-ahead search box in
   front of it (window number, department name in Chinese or English, floor) for a hall with about
   a hundred places. The <select> keeps the value; choosing in the search list sets it and fires
   "change", so the rest of the page listens to the select only. */
"use strict";

const PlacePicker = (() => {
  const { t, h } = HF;
  const KIND_ORDER = ["department", "service_window", "pickup_window"];
  const MAX_SHOWN = 40;

  const kindRank = (kind) => { const i = KIND_ORDER.indexOf(kind); return i < 0 ? KIND_ORDER.length : i; };
  const kindLabel = (kind) => HF.label("kind", KIND_ORDER.includes(kind) ? kind : "other");

  /** Groups in display order: [{level, kind, label, places}] by floor, then kind, then name. */
  function groups(places) {
    const sorted = [...places].sort((a, b) => (a.level ?? 0) - (b.level ?? 0) || kindRank(a.kind) - kindRank(b.kind)
      || String(a.id).localeCompare(String(b.id)));
    const out = [];
    for (const p of sorted) {
      const last = out[out.length - 1];
      if (last && last.level === p.level && last.kind === kindRank(p.kind)) last.places.push(p);
      else out.push({ level: p.level, kind: kindRank(p.kind), label: t("clerk.place.group", { floor: HF.floor(p.level), kind: kindLabel(p.kind) }), places: [p] });
    }
    return out;
  }

  /** Everything a clerk might type to find a place: both names, its code, its floor in both languages. */
  function haystack(p) {
    return [p.name_zh, p.name_en, p.id, `${p.level}楼`, `${p.level}F`, `floor ${p.level}`, `level ${p.level}`,
      HF.label("kind", p.kind)].join(" ").toLowerCase();
  }

  function matches(p, query) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const hay = haystack(p);
    return words.every((w) => hay.includes(w));
  }

  /** Fill ``select`` with floor groups; keeps its value when still offered. */
  function fillSelect(select, places, withChoose) {
    const keep = select.value;
    select.replaceChildren();
    if (withChoose) select.append(h("option", { value: "" }, t("clerk.place.choose")));
    for (const g of groups(places)) {
      select.append(h("optgroup", { label: g.label }, g.places.map((p) => h("option", { value: p.id }, HF.placeName(p)))));
    }
    if (keep && places.some((p) => p.id === keep)) select.value = keep;
  }

  /** Put a search box with a pop-up result list in front of ``select``; getPlaces() gives the current list. */
  function attach(select, getPlaces) {
    const listId = `${select.id}-results`;
    const input = h("input", {
      type: "search", id: `${select.id}-search`, class: "place-search", autocomplete: "off", role: "combobox",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId,
      "data-i18n-placeholder": "clerk.place.search", "data-i18n-aria": "clerk.place.search.aria",
      placeholder: t("clerk.place.search"), "aria-label": t("clerk.place.search.aria"),
    });
    const list = h("ul", { id: listId, class: "place-results hidden", role: "listbox", "data-testid": "place-results" });
    const wrap = h("div", { class: "place-picker" }, input, list);
    select.before(wrap);
    let active = -1;

    const options = () => [...list.querySelectorAll("[role=option]")];
    function close() {
      list.classList.add("hidden");
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(i) {
      const opts = options();
      if (!opts.length) return;
      active = (i + opts.length) % opts.length;
      opts.forEach((o, k) => o.setAttribute("aria-selected", k === active ? "true" : "false"));
      input.setAttribute("aria-activedescendant", opts[active].id);
      opts[active].scrollIntoView({ block: "nearest" });
    }
    function choose(id) {
      select.value = id;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      input.value = "";
      close();
      select.focus();
    }
    function render() {
      const query = input.value.trim();
      if (!query) { close(); return; }
      const found = getPlaces().filter((p) => matches(p, query));
      const shown = found.slice(0, MAX_SHOWN);
      const items = [];
      for (const g of groups(shown)) {
        items.push(h("li", { role: "presentation", class: "group" }, g.label));
        for (const p of g.places) {
          items.push(h("li", {
            role: "option", id: `${listId}-${p.id}`, "data-place": p.id, "aria-selected": "false",
            onmousedown: (e) => e.preventDefault(),  // keep focus in the box until the choice is made
            onclick: () => choose(p.id),
          }, HF.placeName(p), h("span", { class: "code" }, p.id)));
        }
      }
      if (!found.length) items.push(h("li", { role: "presentation", class: "none" }, t("clerk.place.nomatch")));
      if (found.length > shown.length) items.push(h("li", { role: "presentation", class: "none" }, t("clerk.place.more", { n: found.length - shown.length })));
      list.replaceChildren(...items);
      list.classList.remove("hidden");
      input.setAttribute("aria-expanded", "true");
      active = -1;
      if (found.length) highlight(0);
    }

    let blurTimer = null;  // a tap on a result blurs the box first: close a moment later, unless it is back
    const renderNow = () => { clearTimeout(blurTimer); render(); };
    input.addEventListener("input", renderNow);
    input.addEventListener("focus", renderNow);
    input.addEventListener("blur", () => { clearTimeout(blurTimer); blurTimer = setTimeout(close, 150); });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.classList.contains("hidden")) render(); else highlight(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active - 1); }
      else if (e.key === "Enter") {
        e.preventDefault();  // never submit the form from the search box
        const opt = options()[active];
        if (opt) choose(opt.dataset.place);
      } else if (e.key === "Escape") { input.value = ""; close(); }
    });
    document.addEventListener("hf:lang", () => { if (!list.classList.contains("hidden")) render(); });
    return { input, list, close };
  }

  return { attach, fillSelect, groups, matches };
})();
