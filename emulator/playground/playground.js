// The playground: talk to the local Dailybot as a user, and watch what it holds.
// It reads the control API (/_emulator/...) once, then follows the change stream; nothing is
// polled. All text from replies and state is put in with textContent (see formatting.js).
"use strict";

(() => {
  const P = window.Playground;
  const { element } = P;
  const $ = (id) => document.getElementById(id);

  const history = [];
  let historyIndex = 0;
  const selection = { organization: "", user: "" };
  P.selection = selection;
  P.timelineId = "";
  P.clockNow = "";

  function say(text, ok) {
    const node = $("control-result");
    node.className = ok ? "ok" : "bad";
    node.textContent = text;
    const toast = $("toast");
    toast.className = ok ? "toast ok" : "toast bad";
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(say.timer);
    say.timer = setTimeout(() => (toast.hidden = true), 4000);
  }

  function report(result, success) {
    if (result.ok) say(success, true);
    else say(P.problemText(result), false);
  }

  // ---- typing commands ------------------------------------------------------------------

  async function runCommand(line, { clicked } = {}) {
    const text = line.trim();
    if (!text) return;
    const [intent] = text.split(/\s+/);
    const query = text.slice(intent.length).trim();
    const pending = element("li", "item pending-local");
    const bubble = element("div", "turn from-user");
    bubble.append(element("div", "who", P.userName(selection.user)));
    const said = element("div", "bubble");
    if (clicked) said.append(element("span", "clicked", `clicked ${clicked}: `));
    said.append(element("span", "typed", text));
    bubble.append(said);
    pending.append(bubble);
    $("conversation").append(pending);
    $("conversation").scrollTop = $("conversation").scrollHeight;
    const result = await P.api("POST", "invoke", {
      intent,
      query,
      user_uuid: selection.user,
      organization_uuid: selection.organization,
    });
    // The item arrives on the stream; fetched here too in case the stream is behind.
    const item = result.ok ? `run:${result.data.delivery_id}` : result.data && result.data.occurrence;
    if (item && !P.conversation.has(item)) await P.conversation.fetchItem(item);
    pending.remove();
    if (!item) say(`The command was not sent: ${P.problemText(result)}`, false);
  }
  P.runCommand = runCommand;

  function wireComposer() {
    const input = $("command");
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const line = input.value;
      if (!line.trim()) return;
      history.push(line);
      historyIndex = history.length;
      input.value = "";
      runCommand(line);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowUp" && history.length) {
        event.preventDefault();
        historyIndex = Math.max(0, historyIndex - 1);
        input.value = history[historyIndex];
      } else if (event.key === "ArrowDown" && history.length) {
        event.preventDefault();
        historyIndex = Math.min(history.length, historyIndex + 1);
        input.value = history[historyIndex] ?? "";
      }
    });
  }

  // ---- who is talking -------------------------------------------------------------------

  function fillOrganizations() {
    const select = $("organization");
    select.replaceChildren();
    for (const organization of P.world.organizations) {
      const option = element("option", "", `${organization.name} (${organization.timezone})`);
      option.value = organization.uuid;
      select.append(option);
    }
  }

  function fillUsers() {
    const select = $("user");
    select.replaceChildren();
    for (const user of P.world.users.filter((u) => u.organization_uuid === selection.organization && !u.foreign)) {
      const option = element("option", "", `${user.full_name} (${user.timezone})${user.added ? " · new" : ""}`);
      option.value = user.uuid;
      select.append(option);
    }
    const intents = P.world.commands
      .filter((c) => c.organization_uuid === selection.organization)
      .flatMap((c) => [c.intent, ...c.aliases]);
    $("known-intents").textContent = intents.length ? `Intents: ${intents.sort().join(", ")}.` : "";
  }

  function choose(organization, user) {
    const organizations = P.world.organizations.map((o) => o.uuid);
    selection.organization = organizations.includes(organization) ? organization : organizations[0] || "";
    $("organization").value = selection.organization;
    fillUsers();
    const users = [...$("user").options].map((o) => o.value);
    selection.user = users.includes(user) ? user : users[0] || "";
    $("user").value = selection.user;
    localStorage.setItem("playground.organization", selection.organization);
    localStorage.setItem("playground.user", selection.user);
  }

  function wireSelection() {
    $("organization").addEventListener("change", () => {
      choose($("organization").value, "");
      P.conversation.load();
      P.controls.loadExamples();
    });
    $("user").addEventListener("change", () => {
      choose(selection.organization, $("user").value);
      P.conversation.load();
    });
    $("new-conversation").addEventListener("click", () => P.conversation.startNew());
    $("new-user").addEventListener("click", async () => {
      const result = await P.api("POST", "users", { organization_uuid: selection.organization });
      if (!result.ok) return report(result, "");
      addUser(result.data);
      choose(selection.organization, result.data.uuid);
      // A new user starts a conversation of their own, without the organization's past events.
      await P.conversation.startNew();
      say(`You are ${result.data.full_name}, a user the command has never met.`, true);
    });
  }

  function addUser(user) {
    if (!P.world.users.some((u) => u.uuid === user.uuid)) {
      P.world.users.push(user);
      fillUsers();
      $("user").value = selection.user;
    }
  }

  // ---- tabs -----------------------------------------------------------------------------

  function openTab(name) {
    for (const tab of document.querySelectorAll("[data-tab]")) {
      const chosen = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", String(chosen));
      $(`tab-${tab.dataset.tab}`).hidden = !chosen;
    }
    localStorage.setItem("playground.tab", name);
  }

  function wireTabs() {
    for (const tab of document.querySelectorAll("[data-tab]")) {
      tab.addEventListener("click", () => openTab(tab.dataset.tab));
    }
    const saved = localStorage.getItem("playground.tab");
    if (saved && $(`tab-${saved}`)) openTab(saved);
  }

  // ---- following the emulator -----------------------------------------------------------

  function showClock(clock) {
    P.clockNow = clock.now;
    P.world.clock = clock.clock;
    $("clock").textContent = `${clock.clock} clock · ${clock.now}`;
    $("clock-form").classList.toggle("disabled", clock.clock !== "virtual");
  }

  async function resync() {
    const [clock] = await Promise.all([
      P.api("GET", "clock"),
      P.conversation.load(),
      P.inspector.load(),
      P.statePanel.load(),
      P.controls.loadFaults(),
    ]);
    if (clock.ok) showClock(clock.data);
  }

  const CHANGES = {
    item: (item) => {
      P.conversation.upsert(item);
      P.inspector.fromItem(item);
      P.statePanel.fromItem(item);
    },
    removed: (data) => P.conversation.remove(data.ids),
    call: (call) => P.inspector.take({ type: "call", call }),
    faults: (faults) => P.controls.renderFaults(faults),
    clock: showClock,
    user: addUser,
    reset: () => resync(),
  };

  function onChange(topic, data) {
    const handle = CHANGES[topic];
    if (handle) handle(data);
    else P.statePanel.apply(topic, data);
  }

  let ready = false;
  function follow() {
    P.follow({
      onHello: async (hello) => {
        if (hello.resync || !ready) await resync();
        ready = true;
        document.body.dataset.ready = "true";
        document.body.dataset.feed = `${hello.epoch}:${hello.seq}`;
      },
      onChange,
      onState: (state) => {
        $("connection").textContent = state === "live" ? "live" : "reconnecting…";
        $("connection").className = `connection ${state}`;
      },
    });
  }

  async function start() {
    const result = await P.api("GET", "world");
    if (!result.ok) {
      $("connection").textContent = "emulator unreachable";
      return;
    }
    Object.assign(P.world, result.data);
    fillOrganizations();
    choose(localStorage.getItem("playground.organization"), localStorage.getItem("playground.user"));
    wireSelection();
    wireTabs();
    wireComposer();
    P.conversation.wire();
    P.inspector.wire();
    P.controls.wire();
    P.controls.loadExamples();
    follow();
  }

  Object.assign(P, { say, report });
  start();
})();
