// What every part of the page shares: the world (organizations, users, commands), names for
// uuids, and small renderers (a reply as Dailybot shows it, tables, times, sizes).
"use strict";

(() => {
  const P = window.Playground;
  const { element, renderMessage } = window.DailybotFormatting;

  const world = { organizations: [], users: [], commands: [], events: [], clock: "real" };

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
    return organization ? organization.name : uuid || "—";
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

  function button(label, className, onClick) {
    const node = element("button", className, label);
    node.type = "button";
    if (onClick) node.addEventListener("click", onClick);
    return node;
  }

  // "2026-02-25T12:00:03.5Z" -> "12:00:03"; the full instant stays in the title.
  function clockTime(iso) {
    const match = /T(\d\d:\d\d:\d\d)/.exec(iso || "");
    return match ? match[1] : iso || "";
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "—";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  }

  function size(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  // A reply (or a message) as Dailybot shows it: formatted text, image, buttons. Buttons of
  // type Command run their value as a new invocation, unless the reply is only shown
  // (a loaded transcript).
  function renderReply(bubble, reply, { interactive = true } = {}) {
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
        for (const spec of reply.buttons) row.append(replyButton(spec, interactive));
        bubble.append(row);
      }
    } else if (typeof reply === "string" && reply !== "") {
      bubble.append(renderMessage(reply)); // a plain-text reply is a message too
    } else if (reply !== null && reply !== undefined && reply !== "") {
      // JSON without a message (an event's acknowledgement): nothing a user would see.
      const raw = element("div", "raw-reply", "answered ");
      raw.append(element("code", "", JSON.stringify(reply)));
      bubble.append(raw);
    }
  }

  function replyButton(spec, interactive) {
    const node = button(String(spec.label ?? spec.value ?? "?"), "reply-button");
    node.disabled = !interactive;
    node.addEventListener("click", async () => {
      if ((spec.button_type ?? "Command") !== "Command") return;
      node.disabled = true;
      if (spec.label_after_click) node.textContent = String(spec.label_after_click);
      await P.runCommand(String(spec.value ?? ""), { clicked: String(spec.label ?? "") });
    });
    return node;
  }

  function statusClass(status) {
    if (status === null || status === undefined) return "none";
    return `s${String(status)[0]}xx`;
  }

  Object.assign(P, {
    world,
    userName,
    commandName,
    organizationName,
    pretty,
    table,
    empty,
    button,
    clockTime,
    duration,
    size,
    renderReply,
    statusClass,
    element,
  });
})();
