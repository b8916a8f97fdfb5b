/**
 * The console's browser script, served as /console/app.js. Plain JavaScript, no framework: it
 * opens the event stream (EventSource reconnects by itself and every connection starts with a
 * snapshot), keeps the same bounded picture the feed keeps, and draws it. Call data is untrusted
 * (transcripts are whatever a caller said), so it only ever reaches the page as textContent or
 * attribute values, never as markup.
 *
 * A string module rather than a .js file for the same reason as page-html.ts; it is written
 * without template literals so the string needs no escaping. The real-browser test
 * (test/console/browser.test.ts) fails on any script error or CSP violation.
 */
export const CONSOLE_JS = `"use strict";
(() => {
  const EVENTS_URL = "/console/events";
  const SLOW_MS = 1500;
  const OK_MS = 800;

  let limits = { maxActiveCalls: 500, maxTimeline: 80, maxLatencies: 60, maxEnded: 20 };
  /** callId -> call (same shape as the feed's ActiveCallView, mutable here) */
  const calls = new Map();
  /** callId -> its card element */
  const cards = new Map();
  let ended = [];

  const byId = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function trimFront(list, max) {
    if (list.length > max) list.splice(0, list.length - max);
  }

  function clock(at) {
    return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  function ms(value) {
    return value === undefined || value === null ? "–" : Math.round(value) + " ms";
  }

  function latencyClass(value) {
    if (value <= OK_MS) return "ok";
    return value <= SLOW_MS ? "slow" : "bad";
  }

  function newCall(callId, at) {
    return {
      callId: callId,
      callSid: "",
      from: "",
      to: "",
      agentId: "",
      startedAt: at,
      timeline: [],
      latenciesMs: [],
      interruptions: 0,
      dtmf: "",
    };
  }

  function callFor(callId, at) {
    let call = calls.get(callId);
    if (call === undefined) {
      if (calls.size >= limits.maxActiveCalls) {
        const oldest = calls.keys().next().value;
        calls.delete(oldest);
        removeCard(oldest);
      }
      call = newCall(callId, at);
      calls.set(callId, call);
    }
    return call;
  }

  function pushEntry(call, entry) {
    call.timeline.push(entry);
    trimFront(call.timeline, limits.maxTimeline);
  }

  // ---- applying stream messages ----

  function apply(msg) {
    switch (msg.type) {
      case "snapshot": {
        limits = msg.limits;
        calls.clear();
        for (const callId of Array.from(cards.keys())) removeCard(callId);
        for (const c of msg.active) {
          calls.set(c.callId, Object.assign({}, c, { timeline: c.timeline.slice(), latenciesMs: c.latenciesMs.slice() }));
        }
        ended = msg.ended.slice();
        for (const call of calls.values()) renderCall(call);
        renderEnded();
        break;
      }
      case "call_started": {
        const call = callFor(msg.callId, msg.at);
        call.callSid = msg.callSid;
        call.from = msg.from;
        call.to = msg.to;
        call.agentId = msg.agentId;
        call.audioPath = msg.audioPath;
        call.startedAt = msg.at;
        renderCall(call);
        break;
      }
      case "transcript": {
        const call = callFor(msg.callId, msg.at);
        pushEntry(call, { kind: "line", role: msg.role, text: msg.text, at: msg.at });
        renderCall(call);
        break;
      }
      case "agent_correction": {
        const call = callFor(msg.callId, msg.at);
        for (let i = call.timeline.length - 1; i >= 0; i--) {
          const entry = call.timeline[i];
          if (entry.kind === "line" && entry.role === "agent") {
            call.timeline[i] = Object.assign({}, entry, { text: msg.text, cut: true });
            break;
          }
        }
        renderCall(call);
        break;
      }
      case "turn": {
        const call = callFor(msg.callId, msg.at);
        call.latenciesMs.push(msg.latencyMs);
        trimFront(call.latenciesMs, limits.maxLatencies);
        renderCall(call);
        break;
      }
      case "interruption": {
        const call = callFor(msg.callId, msg.at);
        call.interruptions++;
        pushEntry(call, { kind: "interruption", at: msg.at });
        renderCall(call);
        break;
      }
      case "dtmf": {
        const call = callFor(msg.callId, msg.at);
        call.dtmf += msg.digits;
        pushEntry(call, { kind: "dtmf", digits: msg.digits, at: msg.at });
        renderCall(call);
        break;
      }
      case "call_ended": {
        calls.delete(msg.callId);
        removeCard(msg.callId);
        ended.unshift(msg.ended);
        ended.length = Math.min(ended.length, limits.maxEnded);
        renderEnded();
        break;
      }
      default:
        return;
    }
    renderCounts();
  }

  // ---- drawing ----

  function removeCard(callId) {
    const card = cards.get(callId);
    if (card) card.remove();
    cards.delete(callId);
  }

  function renderCounts() {
    const n = calls.size;
    byId("active-count").textContent = String(n);
    byId("no-calls").hidden = n > 0;
    document.title = (n > 0 ? "(" + n + ") " : "") + "Live calls · exotel-bridge";
  }

  function chip(label, value, className) {
    const node = el("span", "chip" + (className ? " " + className : ""));
    node.append(el("span", "chip-label", label), el("span", "chip-value", value));
    return node;
  }

  function renderHeader(call) {
    const head = el("header", "call-head");
    const title = el("h3", "call-title");
    title.append(el("span", "from", call.from || "unknown caller"), el("span", "arrow", " → "), el("span", "to", call.to || "?"));
    const live = el("span", "live", "live");
    const elapsed = el("span", "elapsed", duration((Date.now() - call.startedAt) / 1000));
    elapsed.dataset.start = String(call.startedAt);
    head.append(title, live, elapsed);
    const meta = el("p", "call-meta");
    const parts = [];
    if (call.agentId) parts.push("agent " + call.agentId);
    if (call.callSid) parts.push("CallSid " + call.callSid);
    if (call.audioPath) parts.push(call.audioPath);
    meta.textContent = parts.join(" · ");
    const stats = el("div", "chips");
    const turns = call.latenciesMs.length;
    const avg = turns === 0 ? undefined : call.latenciesMs.reduce((a, b) => a + b, 0) / turns;
    stats.append(
      chip("Turns", turns),
      chip("Avg response", ms(avg), avg === undefined ? "" : latencyClass(avg)),
      chip("Barge-ins", call.interruptions, call.interruptions > 0 ? "barge" : ""),
    );
    if (call.dtmf) stats.append(chip("DTMF", call.dtmf, "dtmf"));
    return [head, meta, stats];
  }

  function renderChart(call) {
    const figure = el("figure", "latency");
    const caption = el("figcaption", "", "Response latency per turn");
    figure.append(caption);
    const values = call.latenciesMs;
    if (values.length === 0) {
      figure.append(el("p", "muted", "No agent response yet."));
      return figure;
    }
    const top = Math.max(1000, Math.max.apply(null, values));
    caption.append(el("span", "scale", "scale 0–" + Math.round(top) + " ms"));
    const bars = el("div", "bars");
    values.forEach((value, i) => {
      const bar = el("div", "bar " + latencyClass(value));
      bar.setAttribute("role", "img");
      bar.setAttribute("aria-label", "turn " + (i + 1) + ": " + value + " ms");
      bar.title = "turn " + (i + 1) + ": " + value + " ms";
      const fill = el("div", "fill");
      fill.style.height = Math.max(2, (value / top) * 100) + "%";
      bar.append(el("span", "value", value), fill);
      bars.append(bar);
    });
    figure.append(bars);
    return figure;
  }

  function renderTimeline(call) {
    const list = el("ol", "timeline");
    for (const entry of call.timeline) {
      let item;
      if (entry.kind === "line") {
        item = el("li", "line " + (entry.role === "agent" ? "agent" : "caller"));
        item.append(el("span", "who", entry.role === "agent" ? "Agent" : "Caller"));
        const text = el("span", "text", entry.text);
        item.append(text);
        if (entry.cut) item.append(el("span", "cut", "cut off by caller"));
      } else if (entry.kind === "interruption") {
        item = el("li", "marker barge");
        item.append(el("span", "label", "Barge-in: the caller talked over the agent"));
      } else {
        item = el("li", "marker dtmf");
        item.append(el("span", "label", "DTMF"));
        for (const digit of String(entry.digits)) item.append(el("kbd", "", digit));
      }
      item.append(el("time", "at", clock(entry.at)));
      list.append(item);
    }
    if (call.timeline.length === 0) list.append(el("li", "muted", "Waiting for the first words…"));
    return list;
  }

  function renderCall(call) {
    let card = cards.get(call.callId);
    let follow = true;
    if (card === undefined) {
      card = el("article", "call");
      card.dataset.callId = call.callId;
      cards.set(call.callId, card);
      byId("cards").prepend(card);
    } else {
      const old = card.querySelector(".timeline");
      if (old) follow = old.scrollTop + old.clientHeight >= old.scrollHeight - 8;
    }
    const timeline = renderTimeline(call);
    card.replaceChildren(...renderHeader(call), renderChart(call), timeline);
    // Keep following the newest line unless the reader scrolled up to read.
    if (follow) timeline.scrollTop = timeline.scrollHeight;
  }

  function cell(text, className) {
    return el("td", className, text);
  }

  function renderEnded() {
    const body = byId("ended-rows");
    const rows = ended.map((c) => {
      const row = el("tr");
      row.dataset.callId = c.callId;
      const reason = el("td", "reason");
      reason.title = "ended by " + c.endedBy;
      reason.append(el("code", "", c.endReason), el("span", "reason-text", c.endText));
      const latency = c.responseLatencyMs
        ? Math.round(c.responseLatencyMs.avg) + " / " + Math.round(c.responseLatencyMs.max) + " ms"
        : "–";
      row.append(
        cell(clock(c.endedAt), "nowrap"),
        cell((c.from || "unknown") + " → " + (c.to || "?"), "nowrap"),
        cell(duration(c.durationS), "nowrap"),
        reason,
        cell(ms(c.timeToFirstAudioMs), "num"),
        cell(latency, "num"),
        cell(c.interruptions, "num"),
        cell(c.transcriptTurns, "num"),
        cell(c.dtmf || "–"),
      );
      return row;
    });
    body.replaceChildren(...rows);
    byId("ended").hidden = ended.length === 0;
    byId("no-ended").hidden = ended.length > 0;
  }

  function tick() {
    for (const node of document.querySelectorAll(".elapsed")) {
      node.textContent = duration((Date.now() - Number(node.dataset.start)) / 1000);
    }
  }

  // ---- the stream ----

  function setStatus(state, text) {
    const node = byId("status");
    node.dataset.state = state;
    node.textContent = text;
  }

  function connect() {
    const source = new EventSource(EVENTS_URL);
    source.onopen = () => setStatus("live", "Live");
    source.onerror = () => {
      // EventSource retries by itself while readyState is CONNECTING; CLOSED means it gave up
      // (e.g. a 401 or 503), so try again a little later.
      if (source.readyState === EventSource.CLOSED) {
        setStatus("down", "Disconnected, retrying…");
        setTimeout(connect, 5000);
      } else {
        setStatus("connecting", "Reconnecting…");
      }
    };
    source.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      apply(msg);
    };
  }

  renderCounts();
  renderEnded();
  setInterval(tick, 1000);
  connect();
})();
`;
