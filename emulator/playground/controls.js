// The controls tab: fire an event (starting from a realistic example body), move the virtual
// clock, inject platform faults, reset, and download the whole state.
"use strict";

(() => {
  const P = window.Playground;
  const { element } = P;

  let examples = {};
  let edited = false; // the body was changed by hand: a new event keeps it

  async function loadExamples() {
    const result = await P.api("GET", "event-examples", undefined, { organization_uuid: P.selection.organization });
    if (!result.ok) return;
    examples = result.data;
    if (!edited) showExample();
  }

  function showExample() {
    const name = document.getElementById("event-name").value;
    document.getElementById("event-body").value = JSON.stringify(examples[name] ?? {}, null, 2);
    edited = false;
  }

  function renderFaults(faults) {
    const target = document.getElementById("faults");
    target.replaceChildren();
    if (!faults.length) return target.append(P.empty("No pending faults."));
    target.append(
      P.table(
        ["path", "status", "times left", "delay (ms)"],
        faults.map((f) => [f.path, f.status ?? "—", f.times, f.delay_ms]),
      ),
    );
  }

  async function loadFaults() {
    const result = await P.api("GET", "faults");
    if (result.ok) renderFaults(result.data);
  }

  async function advance(seconds) {
    const result = await P.api("POST", "clock/advance", { seconds });
    P.report(result, result.ok ? `Clock at ${result.data.now}; ${result.data.fired} fired` : "");
  }

  async function fireEvent(event) {
    event.preventDefault();
    let body;
    try {
      body = JSON.parse(document.getElementById("event-body").value || "{}");
    } catch {
      P.report({ ok: false, status: 400, data: { details: "The body is not valid JSON." } }, "");
      return;
    }
    const name = document.getElementById("event-name").value;
    const result = await P.api("POST", "events", { organization_uuid: P.selection.organization, event: name, body });
    P.report(result, result.ok ? `${name} delivered to ${result.data.deliveries} hook(s)` : "");
  }

  async function injectFault(event) {
    event.preventDefault();
    const fault = {
      path: document.getElementById("fault-path").value,
      times: Number(document.getElementById("fault-times").value),
      delay_ms: Number(document.getElementById("fault-delay").value),
    };
    const status = document.getElementById("fault-status").value;
    if (status) fault.status = Number(status);
    P.report(await P.api("POST", "faults", fault), `Fault on ${fault.path} injected`);
  }

  function wire() {
    const select = document.getElementById("event-name");
    for (const name of P.world.events) {
      const option = element("option", "", name);
      option.value = name;
      select.append(option);
    }
    select.addEventListener("change", () => {
      if (!edited) showExample();
    });
    document.getElementById("event-body").addEventListener("input", () => {
      edited = true;
    });
    document.getElementById("event-example").addEventListener("click", showExample);
    document.getElementById("event-form").addEventListener("submit", fireEvent);
    document.getElementById("clock-form").addEventListener("submit", (event) => {
      event.preventDefault();
      advance(Number(document.getElementById("advance-seconds").value));
    });
    for (const control of document.querySelectorAll("[data-advance]")) {
      control.addEventListener("click", () => advance(Number(control.dataset.advance)));
    }
    document.getElementById("fault-form").addEventListener("submit", injectFault);
    document.getElementById("faults-clear").addEventListener("click", async () => {
      P.report(await P.api("DELETE", "faults"), "Faults cleared");
    });
    document.getElementById("reset").addEventListener("click", async () => {
      P.report(await P.api("POST", "reset"), "State reset");
    });
  }

  P.controls = { wire, loadExamples, loadFaults, renderFaults };
})();
