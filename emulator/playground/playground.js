// The playground: talk to the local Dailybot as a user, and watch what it holds.
// Reads and drives the emulator's control API (/_emulator/...) only; no token is needed.
// All text from replies and state is put in with textContent (see formatting.js).
"use strict";

const { element, renderMessage } = window.DailybotFormatting;
const POLL_MS = 1000;
const SLOW_MS = 3000; // Dailybot gives a command about three seconds to answer

const $ = (id) => document.getElementById(id);
const world = { organizations: [], users: [], commands: [], events: [], clock: "real" };
const history = [];
let historyIndex = 0;
const lastSeen = {};
const seenMessages = new Set();
const seenScheduled = new Set();
let primed = false;

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(`/_emulator/${path}`, options);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  return { status: response.status, ok: response.ok, data };
}

function selectedOrganization() {
  return $("organization").value;
}

function selectedUser() {
  return $("user").value;
}

function userName(uuid) {
  const user = world.users.find((u) => u.uuid === uuid);
  return user ? user.full_name : uuid || "—";
}

function commandName(uuid) {
  const command = world.commands.find((c) => c.uuid === uuid);
  return command ? command.intent : uuid || "—";
}

function organizationName(uuid) {
  const organization = world.organizations.find((o) => o.uuid === uuid);
  return organization ? organization.name : uuid;
}

function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function table(headers, rows) {
  const node = element("table");
  const head = element("tr");
  for (const title of headers) head.append(element("th", "", title));
  node.append(head);
  for (const cells of rows) {
    const row = element("tr");
    for (const cell of cells) {
      const td = element("td");
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell === null || cell === undefined ? "—" : String(cell);
      row.append(td);
    }
    node.append(row);
  }
  return node;
}

function empty(text) {
  return element("p", "empty", text);
}

// ---- conversation --------------------------------------------------------------------------

function scrollConversation() {
  const list = $("conversation");
  list.scrollTop = list.scrollHeight;
}

function addEntry(className, who, build) {
  const item = element("li", `entry ${className}`);
  item.append(element("div", "who", who));
  const bubble = element("div", "bubble");
  build(bubble);
  item.append(bubble);
  $("conversation").append(item);
  scrollConversation();
  return item;
}

function renderReplyBody(bubble, reply) {
  if (reply && typeof reply === "object" && typeof reply.message === "string") {
    bubble.append(renderMessage(reply.message));
    if (reply.image_url) {
      const image = element("img", "reply-image");
      image.alt = "image in the reply";
      image.src = String(reply.image_url);
      bubble.append(image);
    }
    if (Array.isArray(reply.buttons) && reply.buttons.length) {
      const row = element("div", "buttons");
      for (const button of reply.buttons) row.append(replyButton(button));
      bubble.append(row);
    }
  } else if (reply !== null && reply !== undefined && reply !== "") {
    bubble.append(element("pre", "raw", pretty(reply)));
  }
}

function replyButton(button) {
  const node = element("button", "reply-button", String(button.label ?? button.value ?? "?"));
  node.type = "button";
  node.addEventListener("click", async () => {
    if ((button.button_type ?? "Command") !== "Command") return;
    node.disabled = true;
    if (button.label_after_click) node.textContent = String(button.label_after_click);
    await runCommand(String(button.value ?? ""), { clicked: String(button.label ?? "") });
  });
  return node;
}

function problem(result) {
  const reply = result.data || {};
  if (result.status !== 200) {
    return {
      status: result.status,
      code: reply.code,
      message: reply.detail || reply.details || reply.message || "",
    };
  }
  if (reply.status_code === null || reply.status_code === undefined) {
    return { status: "no answer", code: reply.error, message: "the command never answered" };
  }
  if (reply.status_code >= 400) {
    const body = reply.reply && typeof reply.reply === "object" ? reply.reply : {};
    return {
      status: reply.status_code,
      code: body.code,
      message: body.message || body.detail || pretty(reply.reply ?? ""),
    };
  }
  return null;
}

function describe(result) {
  const parts = [];
  if (result.status === 200 && result.data) {
    if (result.data.status_code !== null) parts.push(`status ${result.data.status_code}`);
    parts.push(`${Math.round(result.data.elapsed_ms)} ms`);
  }
  return parts.join(" · ");
}

async function runCommand(line, { clicked } = {}) {
  const text = line.trim();
  if (!text) return;
  const [intent, ...rest] = text.split(/\s+/);
  const query = text.slice(intent.length).trim();
  addEntry("from-user", userName(selectedUser()), (bubble) => {
    if (clicked) bubble.append(element("span", "clicked", `clicked ${clicked}: `));
    bubble.append(element("span", "typed", text));
  });
  const result = await api("POST", "invoke", {
    intent,
    query,
    user_uuid: selectedUser(),
    organization_uuid: selectedOrganization(),
  });
  const trouble = problem(result);
  addEntry(trouble ? "from-bot failed" : "from-bot", intent, (bubble) => {
    if (trouble) {
      const box = element("div", "problem");
      box.append(element("strong", "", `${trouble.status}`));
      if (trouble.code) box.append(" ", element("code", "", String(trouble.code)));
      if (trouble.message) box.append(" ", element("span", "", String(trouble.message)));
      bubble.append(box);
    } else {
      renderReplyBody(bubble, result.data.reply);
    }
    const meta = element("div", "meta", describe(result));
    if (result.status === 200 && result.data.elapsed_ms > SLOW_MS) {
      meta.classList.add("slow");
      meta.textContent += " · slow: Dailybot would have given up waiting";
    }
    bubble.append(meta);
  });
  refresh();
}

function showFollowUps(messages) {
  for (const message of messages) {
    if (seenMessages.has(message.id)) continue;
    seenMessages.add(message.id);
    if (!primed || message.organization_uuid !== selectedOrganization()) continue;
    const targets = [
      ...(message.target_users || []).map(userName),
      ...(message.target_channels || []).map((c) => `#${c}`),
      ...(message.target_teams || []).map((t) => `team ${t}`),
    ];
    addEntry("from-bot follow-up", `${commandName(message.command_uuid)} (follow-up)`, (bubble) => {
      renderReplyBody(bubble, message);
      bubble.append(element("div", "meta", `to ${targets.join(", ") || "—"}`));
    });
  }
}

function showScheduledReplies(deliveries) {
  for (const delivery of deliveries) {
    if (delivery.kind !== "scheduled_execution" || seenScheduled.has(delivery.delivery_id)) {
      continue;
    }
    if (delivery.status === null || delivery.status >= 500) continue; // may be redelivered
    seenScheduled.add(delivery.delivery_id);
    const body = delivery.body || {};
    if (!primed || body.organization_uuid !== selectedOrganization()) continue;
    addEntry("from-bot scheduled", `${delivery.subject} (scheduled)`, (bubble) => {
      renderReplyBody(bubble, delivery.reply);
      bubble.append(element("div", "meta", `status ${delivery.status} · ${delivery.at}`));
    });
  }
}

// ---- inspector -----------------------------------------------------------------------------

function groupDeliveries(attempts) {
  const groups = new Map();
  for (const attempt of attempts) {
    if (!groups.has(attempt.delivery_id)) groups.set(attempt.delivery_id, []);
    groups.get(attempt.delivery_id).push(attempt);
  }
  return [...groups.values()].reverse();
}

function renderDeliveries(attempts) {
  const target = $("deliveries");
  const open = new Set(
    [...target.querySelectorAll("details[open]")].map((d) => d.dataset.deliveryId),
  );
  target.replaceChildren();
  const groups = groupDeliveries(attempts);
  if (!groups.length) target.append(empty("No deliveries yet: send a command."));
  for (const group of groups) {
    const last = group[group.length - 1];
    const details = element("details", "delivery");
    details.dataset.deliveryId = last.delivery_id;
    details.open = open.has(last.delivery_id);
    const summary = element("summary");
    const failed = last.status === null || last.status >= 400;
    summary.append(
      element("span", `kind kind-${last.kind}`, last.kind),
      element("span", "subject", last.subject ?? "—"),
      element("span", failed ? "status bad" : "status", group.map((a) => a.status ?? a.error).join(" → ")),
      element("span", "attempts", `${group.length} attempt${group.length > 1 ? "s" : ""}`),
      element("span", "latency", last.latency_ms === null ? "—" : `${Math.round(last.latency_ms)} ms`),
      element("span", "at", last.at),
    );
    details.append(summary);
    details.append(element("h3", "", "Body sent"), element("pre", "body", pretty(last.body)));
    details.append(element("h3", "", "Reply"), element("pre", "reply", pretty(last.reply ?? last.error)));
    details.append(element("p", "meta", `${last.url} · sha256 ${last.body_sha256.slice(0, 12)}…`));
    target.append(details);
  }
}

// ---- state ---------------------------------------------------------------------------------

function renderSchedules(schedules) {
  const target = $("schedules");
  target.replaceChildren();
  if (!schedules.length) return target.append(empty("No scheduled executions."));
  const rows = schedules.map((s) => {
    const fire = element("button", "fire-now", "Fire now");
    fire.type = "button";
    fire.addEventListener("click", async () => {
      const result = await api("POST", `schedules/${s.uuid}/fire`);
      report(result, `Fired ${s.name}`);
      refresh();
    });
    return [
      s.name,
      commandName(s.command_uuid),
      s.cron ?? `every ${s.execution_frequency} min`,
      s.next_fire_local ? `${s.next_fire_local} (${s.timezone})` : "—",
      s.is_active ? "yes" : "no",
      s.runs_left === null ? "∞" : s.runs_left,
      fire,
    ];
  });
  target.append(table(["name", "command", "timing", "next fire", "active", "runs left", ""], rows));
}

function renderHooks(hooks) {
  const target = $("hooks");
  target.replaceChildren();
  if (!hooks.length) return target.append(empty("No event hook registered."));
  target.append(
    table(
      ["hook", "command", "acts as", "subscriptions", "objects"],
      hooks.map((h) => [
        h.hook_uuid,
        commandName(h.command_uuid),
        userName(h.user_uuid),
        h.subscriptions.join(", "),
        h.subscribed_objects.join(", ") || "all",
      ]),
    ),
  );
}

function renderStorage(entries) {
  const target = $("storage");
  target.replaceChildren();
  if (!entries.length) return target.append(empty("Nothing stored."));
  const scopes = new Map();
  for (const entry of entries) {
    const owner =
      entry.scope === "command"
        ? `command ${commandName(entry.command_uuid)}`
        : `namespace ${entry.namespace}`;
    const title = `${owner} · ${organizationName(entry.organization_uuid)}`;
    if (!scopes.has(title)) scopes.set(title, []);
    scopes.get(title).push(entry);
  }
  for (const [title, items] of scopes) {
    target.append(element("h3", "", title));
    const rows = items.map((e) => [element("code", "key", e.key), element("pre", "value", pretty(e.value))]);
    target.append(table(["key", "value"], rows));
  }
}

function renderActivity(records) {
  const target = $("activity");
  target.replaceChildren();
  if (!records.length) return target.append(empty("No activity recorded."));
  target.append(
    table(
      ["at", "command", "user", "category / action", "label", "metadata"],
      records.map((r) => [
        r.created_at,
        commandName(r.command),
        userName(r.user),
        `${r.category} / ${r.action}`,
        r.label,
        element("pre", "value", pretty(r.metadata)),
      ]),
    ),
  );
}

function renderMessages(messages) {
  const target = $("messages");
  target.replaceChildren();
  if (!messages.length) return target.append(empty("No messages sent."));
  target.append(
    table(
      ["at", "from", "to", "message"],
      [...messages].reverse().map((m) => {
        const body = element("div", "bubble");
        renderReplyBody(body, m);
        return [m.created_at, commandName(m.command_uuid), (m.target_users || []).map(userName).join(", ") || "—", body];
      }),
    ),
  );
}

function renderFaults(faults) {
  const target = $("faults");
  target.replaceChildren();
  if (!faults.length) return target.append(empty("No pending faults."));
  target.append(
    table(
      ["path", "status", "times left", "delay (ms)"],
      faults.map((f) => [f.path, f.status ?? "—", f.times, f.delay_ms]),
    ),
  );
}

// ---- polling -------------------------------------------------------------------------------

const VIEWS = {
  deliveries: (data) => {
    renderDeliveries(data);
    showScheduledReplies(data);
  },
  messages: (data) => {
    renderMessages(data);
    showFollowUps(data);
  },
  schedules: renderSchedules,
  hooks: renderHooks,
  storage: renderStorage,
  activity: renderActivity,
  faults: renderFaults,
};

let refreshing = null;

async function refreshOnce() {
  const clock = await api("GET", "clock");
  if (clock.ok) {
    $("clock").textContent = `${clock.data.clock} clock · ${clock.data.now}`;
    world.clock = clock.data.clock;
  }
  for (const [name, render] of Object.entries(VIEWS)) {
    const result = await api("GET", name);
    if (!result.ok) continue;
    const text = JSON.stringify(result.data);
    if (lastSeen[name] === text) continue;
    lastSeen[name] = text;
    render(result.data);
  }
  primed = true;
  $("connection").textContent = "";
}

function refresh() {
  if (!refreshing) {
    refreshing = refreshOnce()
      .catch(() => {
        $("connection").textContent = "emulator unreachable";
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

// ---- controls ------------------------------------------------------------------------------

function report(result, success) {
  const node = $("control-result");
  if (result.ok) {
    node.className = "ok";
    node.textContent = success;
  } else {
    const data = result.data || {};
    node.className = "bad";
    node.textContent = `${result.status} ${data.code || ""} ${data.detail || data.details || ""}`.trim();
  }
}

async function advance(seconds) {
  const result = await api("POST", "clock/advance", { seconds });
  report(result, result.ok ? `Clock at ${result.data.now}; ${result.data.fired} fired` : "");
  refresh();
}

function wireControls() {
  $("event-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    let body;
    try {
      body = JSON.parse($("event-body").value || "{}");
    } catch {
      report({ ok: false, status: 400, data: { details: "The body is not valid JSON." } }, "");
      return;
    }
    const name = $("event-name").value;
    const result = await api("POST", "events", {
      organization_uuid: selectedOrganization(),
      event: name,
      body,
    });
    report(result, result.ok ? `${name} delivered to ${result.data.deliveries} hook(s)` : "");
    refresh();
  });
  $("clock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    advance(Number($("advance-seconds").value));
  });
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => advance(Number(button.dataset.advance)));
  }
  $("fault-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const fault = {
      path: $("fault-path").value,
      times: Number($("fault-times").value),
      delay_ms: Number($("fault-delay").value),
    };
    if ($("fault-status").value) fault.status = Number($("fault-status").value);
    report(await api("POST", "faults", fault), `Fault on ${fault.path} injected`);
    refresh();
  });
  $("faults-clear").addEventListener("click", async () => {
    report(await api("DELETE", "faults"), "Faults cleared");
    refresh();
  });
  $("reset").addEventListener("click", async () => {
    report(await api("POST", "reset"), "State reset");
    refresh();
  });
}

function wireTabs() {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[data-tab]")) {
        const chosen = other === tab;
        other.setAttribute("aria-selected", String(chosen));
        $(`tab-${other.dataset.tab}`).hidden = !chosen;
      }
    });
  }
}

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

function fillUsers() {
  const select = $("user");
  select.replaceChildren();
  for (const user of world.users.filter((u) => u.organization_uuid === selectedOrganization())) {
    const option = element("option", "", `${user.full_name} (${user.timezone})`);
    option.value = user.uuid;
    select.append(option);
  }
  const intents = world.commands
    .filter((c) => c.organization_uuid === selectedOrganization())
    .flatMap((c) => [c.intent, ...c.aliases]);
  $("known-intents").textContent = intents.length ? `Intents: ${intents.sort().join(", ")}.` : "";
}

async function start() {
  const result = await api("GET", "world");
  Object.assign(world, result.data);
  for (const organization of world.organizations) {
    const option = element("option", "", `${organization.name} (${organization.timezone})`);
    option.value = organization.uuid;
    $("organization").append(option);
  }
  for (const name of world.events) {
    const option = element("option", "", name);
    option.value = name;
    $("event-name").append(option);
  }
  $("organization").addEventListener("change", fillUsers);
  fillUsers();
  wireTabs();
  wireComposer();
  wireControls();
  await refresh();
  document.body.dataset.ready = "true";
  setInterval(refresh, POLL_MS);
}

start();
