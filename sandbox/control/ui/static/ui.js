// The inspector's few live parts, in plain JavaScript: the clock, regions that follow it,
// the journal's tail, and forms that call the control plane's JSON endpoints. Same-origin
// requests only; the session cookie goes with them (never a token in a URL).
"use strict";
(function () {
  const UI = document.body.dataset.ui;
  const POLL_MS = 1500;

  async function api(method, path, body) {
    const init = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) { window.location.assign(UI + "/signin"); }
    let json = null;
    try { json = await response.json(); } catch (e) { json = null; }
    return { status: response.status, json: json };
  }

  function say(id, text) {
    const where = document.getElementById(id);
    // (Unchanged text is left alone, so that a screen reader announces only changes.)
    if (where && where.textContent !== text) { where.textContent = text; }
  }

  // -- the clock --------------------------------------------------------------------------
  function showClock(body) {
    if (!body) { return; }
    say("clock-now", body.now);
    say("clock-elapsed", (body.elapsed_ms / 1000).toFixed(1));
  }

  async function readClock() {
    const answer = await api("GET", "/_sandbox/clock");
    if (answer.status === 200) { showClock(answer.json); }
  }

  document.querySelectorAll("[data-advance]").forEach(function (button) {
    button.addEventListener("click", async function () {
      const answer = await api("POST", "/_sandbox/clock/advance",
        { seconds: Number(button.dataset.advance) });
      if (answer.status !== 200) {
        say("clock-error", (answer.json && answer.json.message) || "could not advance");
        return;
      }
      say("clock-error", "");
      showClock(answer.json);
      refreshLive();
    });
  });

  const reset = document.getElementById("reset");
  if (reset) {
    reset.addEventListener("click", async function () {
      const answer = await api("POST", "/_sandbox/reset");
      if (answer.status === 200) { window.location.reload(); }
      else { say("clock-error", (answer.json && answer.json.message) || "could not reset"); }
    });
  }

  // -- regions that follow the clock ------------------------------------------------------
  async function refreshLive() {
    const regions = document.querySelectorAll("[data-live]");
    for (const region of regions) {
      let response;
      try {
        response = await fetch(region.dataset.live, { credentials: "same-origin" });
      } catch (e) { continue; }
      // Signed out meanwhile (the token changed, or another tab signed out): the fragment's
      // address redirects to the form; go there rather than show it inside the page.
      if (response.status === 401 || response.redirected) {
        window.location.assign(UI + "/signin");
        return;
      }
      if (response.status !== 200) { continue; }
      const html = await response.text();
      if (html === region.dataset.shown) { continue; }
      // Keep the keyboard where it was: the focused element is found again by its id.
      const focused = document.activeElement;
      const focusId = focused && region.contains(focused) ? focused.id : null;
      region.innerHTML = html;
      region.dataset.shown = html;
      if (focusId) {
        const again = document.getElementById(focusId);
        if (again) { again.focus(); }
      }
    }
  }

  // -- the journal's tail -----------------------------------------------------------------
  const tail = document.getElementById("tail");
  let lastSeq = 0;

  function block(title, value) {
    const part = document.createElement("div");
    const heading = document.createElement("strong");
    heading.textContent = title;
    const pre = document.createElement("pre");
    pre.tabIndex = 0;
    pre.textContent = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    part.append(heading, pre);
    return part;
  }

  function entryView(entry) {
    const details = document.createElement("details");
    details.dataset.seq = entry.seq;
    details.dataset.status = entry.status === null ? "" : String(entry.status);
    details.dataset.route = entry.route || "";
    const summary = document.createElement("summary");
    const status = document.createElement("span");
    status.textContent = entry.status === null ? "no answer" : String(entry.status);
    if (entry.status === null || entry.status >= 400) { status.className = "bad"; }
    const faulted = entry.faults.length ? " · fault: " + entry.faults.map(function (f) {
      return f.source + (f.rule ? " #" + f.rule : "") + " " + f.type; }).join(", ") : "";
    summary.append(
      "#" + entry.seq + " " + entry.at + " · " + entry.kind + " · " + entry.vendor + " " +
      (entry.route || "(no route)") + " · " + (entry.tenant || "no tenant") + " · ", status,
      " · " + entry.duration_ms.toFixed(1) + " ms" + faulted);
    const query = entry.query.map(function (p) {
      return encodeURIComponent(p[0]) + "=" + encodeURIComponent(p[1]); }).join("&");
    details.append(summary,
      block("Request", entry.method + " " + entry.path + (query ? "?" + query : "")),
      block("Headers (redacted)", entry.headers),
      block("Body", entry.body),
      block("Answer", { status: entry.status, duration_ms: entry.duration_ms,
        faults: entry.faults, detail: entry.detail }));
    return details;
  }

  async function readTail() {
    const paused = document.getElementById("tail-paused");
    if (!tail || (paused && paused.checked)) { return; }
    const answer = await api("GET", "/_sandbox/journal?limit=200&after=" + lastSeq);
    if (answer.status !== 200) { return; }
    const entries = answer.json.entries;
    if (entries.length && entries[0].seq <= lastSeq) { return; }
    for (const entry of entries) {
      tail.prepend(entryView(entry));
      lastSeq = Math.max(lastSeq, entry.seq);
    }
    const empty = document.getElementById("tail-empty");
    if (empty) { empty.hidden = tail.children.length > 0; }
  }

  // -- forms and buttons that change rules ------------------------------------------------
  function failed(answer) {
    say("rules-error", (answer.json && answer.json.message) || "refused: " + answer.status);
  }

  document.querySelectorAll("[data-delete]").forEach(function (button) {
    button.addEventListener("click", async function () {
      const answer = await api("DELETE", button.dataset.delete);
      if (answer.status === 200) { window.location.reload(); } else { failed(answer); }
    });
  });

  document.querySelectorAll("form.json-form").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const text = form.querySelector("textarea").value;
      const answer = await api("POST", form.dataset.post, text);
      if (answer.status === 201) { window.location.reload(); } else { failed(answer); }
    });
  });

  document.querySelectorAll("form.subscribe").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const data = new FormData(form);
      const answer = await api("PUT", form.dataset.put,
        { vendor: data.get("vendor"), tenant: data.get("tenant"), url: data.get("url") });
      if (answer.status === 200) { window.location.reload(); } else { failed(answer); }
    });
  });

  // -- polling, bounded to the page being visible -----------------------------------------
  async function tick() {
    if (document.visibilityState === "visible") {
      try {
        if (document.getElementById("clock-now")) { await readClock(); }
        await refreshLive();
        await readTail();
      } catch (e) { /* the sandbox restarting: try again next tick */ }
    }
    window.setTimeout(tick, POLL_MS);
  }
  readTail().finally(function () { window.setTimeout(tick, POLL_MS); });
})();
