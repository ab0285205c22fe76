// The state tab: scheduled executions (fire one now), event hooks, storage (a preview of each
// value; the whole value on demand), activity and the messages sent. Loaded once, then kept
// current from the change stream one changed record at a time, so the page costs the same
// whatever the storage holds.
"use strict";

(() => {
  const P = window.Playground;
  const { element } = P;
  const SHOWN_ACTIVITY = 50;
  const SHOWN_MESSAGES = 50;

  const schedules = new Map();
  const hooks = new Map();
  // A public command has a hook in each organization that uses it.
  const hookKey = (h) => `${h.command_uuid}:${h.organization_uuid}`;
  const storage = new Map();
  const activity = new Map();
  const messages = new Map();
  let moreStorage = null;

  const views = {
    schedules() {
      const target = document.getElementById("schedules");
      target.replaceChildren();
      const sorted = [...schedules.values()].sort((a, b) => (a.next_fire_at ?? "~").localeCompare(b.next_fire_at ?? "~"));
      if (!sorted.length) return target.append(P.empty("No scheduled executions."));
      const rows = sorted.map((s) => [
        s.name,
        P.commandName(s.command_uuid),
        s.cron ?? `every ${s.execution_frequency} min`,
        s.next_fire_local ? `${s.next_fire_local} (${s.timezone})` : "—",
        s.is_active ? "yes" : "no",
        s.runs_left === null ? "∞" : s.runs_left,
        P.button("Fire now", "secondary fire-now", async () => {
          const result = await P.api("POST", `schedules/${s.uuid}/fire`);
          P.report(result, `Fired ${s.name}`);
        }),
      ]);
      target.append(P.table(["name", "command", "timing", "next fire", "active", "runs left", ""], rows));
    },
    hooks() {
      const target = document.getElementById("hooks");
      target.replaceChildren();
      if (!hooks.size) return target.append(P.empty("No event hook registered."));
      target.append(
        P.table(
          ["hook", "command", "organization", "acts as", "subscriptions", "objects"],
          [...hooks.values()].map((h) => [
            h.hook_uuid,
            P.commandName(h.command_uuid),
            P.organizationName(h.organization_uuid),
            P.userName(h.user_uuid),
            h.subscriptions.join(", "),
            h.subscribed_objects.join(", ") || "all",
          ]),
        ),
      );
    },
    storage() {
      const target = document.getElementById("storage");
      target.replaceChildren();
      if (!storage.size) return target.append(P.empty("Nothing stored."));
      const scopes = new Map();
      for (const entry of [...storage.values()].sort(byScopeAndKey)) {
        const owner = entry.scope === "command" ? `command ${P.commandName(entry.command_uuid)}` : `namespace ${entry.namespace}`;
        const title = `${owner} · ${P.organizationName(entry.organization_uuid)}`;
        if (!scopes.has(title)) scopes.set(title, []);
        scopes.get(title).push(entry);
      }
      for (const [title, entries] of scopes) {
        target.append(element("h3", "", title));
        target.append(P.table(["key", "value", "size"], entries.map((e) => [element("code", "key", e.key), valueCell(e), P.size(e.size)])));
      }
      if (moreStorage) target.append(P.button("Show more keys", "secondary", loadMoreStorage));
    },
    activity() {
      const target = document.getElementById("activity");
      target.replaceChildren();
      const records = [...activity.values()].sort((a, b) => b.id - a.id).slice(0, SHOWN_ACTIVITY);
      if (!records.length) return target.append(P.empty("No activity recorded."));
      target.append(
        P.table(
          ["at", "command", "user", "category / action", "label", "metadata"],
          records.map((r) => [
            r.created_at,
            P.commandName(r.command),
            P.userName(r.user),
            `${r.category} / ${r.action}`,
            r.label,
            element("pre", "value", P.pretty(r.metadata)),
          ]),
        ),
      );
    },
    messages() {
      const target = document.getElementById("messages");
      target.replaceChildren();
      const sent = [...messages.values()].sort((a, b) => b.id - a.id).slice(0, SHOWN_MESSAGES);
      if (!sent.length) return target.append(P.empty("No messages sent."));
      target.append(
        P.table(
          ["at", "from", "job", "to", "message"],
          sent.map((m) => {
            const body = element("div", "bubble");
            P.renderReply(body, m);
            const to = (m.target_users || []).map(P.userName).join(", ") || (m.target_channels || []).map((c) => `#${c.id ?? c}`).join(", ");
            return [m.created_at, P.commandName(m.command_uuid), m.job ?? "—", to || "—", body];
          }),
        ),
      );
    },
  };

  function byScopeAndKey(a, b) {
    return a.scope_id === b.scope_id ? a.key.localeCompare(b.key) : a.scope_id.localeCompare(b.scope_id);
  }

  function valueCell(entry) {
    const cell = element("div", "value-cell");
    const pre = element("pre", "value", entry.truncated ? `${entry.preview}…` : entry.preview);
    cell.append(pre);
    if (entry.truncated) {
      cell.append(
        P.button(`Show all (${P.size(entry.size)})`, "link show-value", async (event) => {
          const result = await P.api("GET", "storage/value", undefined, { scope_id: entry.scope_id, key: entry.key });
          if (result.ok) pre.textContent = P.pretty(result.data.value);
          event.target.remove();
        }),
      );
    }
    return cell;
  }

  // Values arrive as their JSON text; shown parsed when whole (so a string shows unquoted).
  function display(entry) {
    if (!entry.truncated) {
      try {
        entry.preview = P.pretty(JSON.parse(entry.preview));
      } catch {
        // A preview that is not whole JSON is shown as it is.
      }
    }
    return entry;
  }

  let scheduled = new Set();
  function renderSoon(name) {
    if (!scheduled.size) {
      requestAnimationFrame(() => {
        for (const view of scheduled) views[view]();
        scheduled = new Set();
      });
    }
    scheduled.add(name);
  }

  async function loadMoreStorage() {
    const result = await P.api("GET", "storage/entries", undefined, moreStorage);
    if (!result.ok) return;
    for (const entry of result.data.entries) storage.set(`${entry.scope_id}\u0000${entry.key}`, display(entry));
    moreStorage = result.data.next;
    renderSoon("storage");
  }

  async function load() {
    const [s, h, e, a, m] = await Promise.all([
      P.api("GET", "schedules"),
      P.api("GET", "hooks"),
      P.api("GET", "storage/entries"),
      P.api("GET", "activity", undefined, { limit: SHOWN_ACTIVITY }),
      P.api("GET", "messages", undefined, { limit: SHOWN_MESSAGES }),
    ]);
    reset();
    if (s.ok) for (const schedule of s.data) schedules.set(schedule.uuid, schedule);
    if (h.ok) for (const hook of h.data) hooks.set(hookKey(hook), hook);
    if (e.ok) {
      for (const entry of e.data.entries) storage.set(`${entry.scope_id}\u0000${entry.key}`, display(entry));
      moreStorage = e.data.next;
    }
    if (a.ok) for (const record of a.data) activity.set(record.id, record);
    if (m.ok) for (const message of m.data) messages.set(message.id, message);
    for (const name of Object.keys(views)) renderSoon(name);
  }

  function reset() {
    for (const map of [schedules, hooks, storage, activity, messages]) map.clear();
    moreStorage = null;
  }

  // One change from the stream.
  const changes = {
    schedule: (s) => (schedules.set(s.uuid, s), "schedules"),
    schedule_removed: (s) => (schedules.delete(s.uuid), "schedules"),
    hook: (h) => (hooks.set(hookKey(h), h), "hooks"),
    hook_removed: (h) => (hooks.delete(hookKey(h)), "hooks"),
    activity: (r) => {
      activity.set(r.id, r);
      if (activity.size > SHOWN_ACTIVITY * 2) activity.delete(Math.min(...activity.keys()));
      return "activity";
    },
    storage: (change) => {
      const key = `${change.entry.scope_id}\u0000${change.entry.key}`;
      if (change.op === "delete") storage.delete(key);
      else storage.set(key, display(change.entry));
      return "storage";
    },
  };

  function apply(topic, data) {
    const change = changes[topic];
    if (change) renderSoon(change(data));
  }

  function fromItem(item) {
    const found = [];
    if (item.message) found.push(item.message);
    for (const run of item.runs || []) found.push(...run.follow_ups);
    for (const message of found) messages.set(message.id, message);
    if (found.length) renderSoon("messages");
  }

  P.statePanel = { load, apply, fromItem, views };
})();
