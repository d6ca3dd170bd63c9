// The web chat page: one WebSocket, replies streamed delta by delta, 👍/👎 under each reply.
"use strict";
(() => {
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const bubbles = new Map(); // reply id -> element
  const unsent = new Map(); // client message id -> text, resent after a reconnect (deduplicated by id)
  let socket = null;
  let retry = 500;

  function bubble(kind, text) {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function rateButtons(li, replyId) {
    const row = document.createElement("div");
    row.className = "rate";
    for (const [score, label, name] of [[1, "👍", "good"], [-1, "👎", "bad"]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.setAttribute("aria-label", `${name} reply`);
      b.setAttribute("aria-pressed", "false");
      b.dataset.score = String(score);
      b.addEventListener("click", () => send({ type: "feedback", reply_id: replyId, score }));
      row.appendChild(b);
    }
    li.appendChild(row);
  }

  async function token() {
    const params = new URLSearchParams(location.hash.slice(1));
    const given = params.get("token") || sessionStorage.getItem("interplay-token");
    if (given) return given;
    const r = await fetch("/session", { method: "POST" });
    if (!r.ok) throw new Error((await r.json()).error);
    const t = (await r.json()).token;
    sessionStorage.setItem("interplay-token", t);
    return t;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  const handlers = {
    ready(e) {
      log.textContent = "";
      for (const t of e.history) bubble(t.role === "user" ? "user" : "bot", t.text);
      status.textContent = "online";
      for (const [id, text] of unsent) send({ type: "message", id, text });
    },
    ack(e) { if (e.status !== "unavailable") unsent.delete(e.id); },
    user(e) { bubble("user", e.text); },
    start(e) {
      const li = bubble("bot streaming", "");
      li.dataset.replyId = e.reply_id;
      bubbles.set(e.reply_id, li);
    },
    delta(e) {
      const li = bubbles.get(e.reply_id);
      if (li) { li.firstChild ? li.firstChild.appendData(e.text) : li.append(e.text); log.scrollTop = log.scrollHeight; }
    },
    end(e) {
      const li = bubbles.get(e.reply_id) || bubble("bot", "");
      li.classList.remove("streaming");
      li.textContent = e.text;
      li.dataset.modelVersion = e.model_version || "";
      if (e.rateable) rateButtons(li, e.reply_id);
    },
    feedback_ok(e) {
      const li = bubbles.get(e.reply_id);
      if (!li) return;
      for (const b of li.querySelectorAll(".rate button")) {
        b.setAttribute("aria-pressed", String(Number(b.dataset.score) === e.score));
      }
    },
    error(e) { status.textContent = e.message; },
  };

  async function connect() {
    let t;
    try { t = await token(); } catch (err) { status.textContent = String(err.message || err); return; }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = () => { retry = 500; socket.send(JSON.stringify({ type: "auth", token: t })); };
    socket.onmessage = (m) => { const e = JSON.parse(m.data); (handlers[e.type] || (() => {}))(e); };
    socket.onclose = (c) => {
      status.textContent = "offline, reconnecting…";
      if (c.code === 4401) { sessionStorage.removeItem("interplay-token"); }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    unsent.set(id, text);
    bubble("user", text);
    send({ type: "message", id, text });
    input.value = "";
  });

  connect();
})();
