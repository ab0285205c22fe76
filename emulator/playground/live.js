// Talking to the emulator: JSON calls to the control API (/_emulator/...) and the change
// stream (server-sent events), which reconnects by itself and resumes where it left off.
"use strict";

window.Playground = window.Playground || {};

(() => {
  async function api(method, path, body, params) {
    const options = { method, headers: { Accept: "application/json" } };
    if (method !== "GET") {
      // The emulator refuses state-changing calls that are not JSON.
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body ?? {});
    }
    const query = params ? `?${new URLSearchParams(withoutEmpty(params))}` : "";
    let response;
    try {
      response = await fetch(`/_emulator/${path}${query}`, options);
    } catch (error) {
      return { status: 0, ok: false, data: { message: "the emulator is unreachable" } };
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    return { status: response.status, ok: response.ok, data };
  }

  function withoutEmpty(params) {
    return Object.fromEntries(
      Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== ""),
    );
  }

  function problemText(result) {
    const data = result.data || {};
    const text = data.detail || data.details || data.message || "";
    return `${result.status || ""} ${data.code || ""} ${typeof text === "string" ? text : JSON.stringify(text)}`.trim();
  }

  // The stream: `onHello({resync})` when (re)connected, `onChange(topic, data)` per change,
  // `onState("live" | "reconnecting")`.
  const TOPICS = [
    "item", "removed", "call", "storage", "schedule", "schedule_removed", "hook",
    "hook_removed", "activity", "faults", "clock", "user", "reset",
  ];

  function follow({ onHello, onChange, onState }) {
    const source = new EventSource("/_emulator/stream");
    source.addEventListener("hello", (event) => {
      onState("live");
      onHello(JSON.parse(event.data));
    });
    for (const topic of TOPICS) {
      source.addEventListener(topic, (event) => onChange(topic, JSON.parse(event.data)));
    }
    source.addEventListener("error", () => onState("reconnecting"));
    return source;
  }

  Object.assign(window.Playground, { api, follow, problemText });
})();
