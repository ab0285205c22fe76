// The conversation: a timeline of what the selected user of the selected organization sees.
// Each item comes from the emulator (GET /_emulator/timeline and the change stream), so it
// survives a reload: an invocation with its reply, its follow-ups (labelled with the job that
// sent them) and its failures; events and scheduled executions with what they caused.
// A conversation starts at a point of the timeline (kept in this browser), and can be saved
// as a transcript and loaded back.
"use strict";

(() => {
  const P = window.Playground;
  const { element } = P;
  const TRANSCRIPT_FORMAT = "dailybot-playground-transcript";
  const SLOW_MS = 3000; // Dailybot gives a command three seconds before it says "working on it"

  const items = new Map(); // id -> item, the live conversation's
  let transcript = null; // a loaded transcript, shown instead of the live conversation
  let earlier = null;

  // ---- what belongs to the conversation -------------------------------------------------

  function startKey() {
    return `playground.start.${P.timelineId}.${P.selection.organization}.${P.selection.user}`;
  }

  function start() {
    return Number(localStorage.getItem(startKey()) || 0);
  }

  function belongs(item) {
    if (item.organization_uuid !== P.selection.organization) return false;
    if (item.seq <= start()) return false;
    const audience = item.audience;
    return audience === null || audience === undefined || audience.includes(P.selection.user);
  }

  // ---- rendering ------------------------------------------------------------------------

  function who(text, at) {
    const node = element("div", "who", text);
    if (at) {
      const time = element("time", "", ` · ${P.clockTime(at)}`);
      time.title = at;
      node.append(time);
    }
    return node;
  }

  function turn(className, label, at, build) {
    const node = element("div", `turn ${className}`);
    node.append(who(label, at));
    const bubble = element("div", "bubble");
    build(bubble);
    node.append(bubble);
    return node;
  }

  function problemBox(status, code, message) {
    const box = element("div", "problem");
    box.append(element("strong", "", String(status)));
    if (code) box.append(" ", element("code", "", String(code)));
    if (message) box.append(" ", element("span", "", String(message)));
    return box;
  }

  // What a run's reply says went wrong, if anything.
  function runProblem(run) {
    if (run.pending) return null;
    if (run.status === null || run.status === undefined) {
      return { status: "no answer", code: run.error, message: "the command never answered" };
    }
    if (run.status >= 400) {
      const reply = run.reply && typeof run.reply === "object" ? run.reply : {};
      return {
        status: run.status,
        code: reply.code,
        message: reply.message || reply.detail || P.pretty(run.reply ?? ""),
      };
    }
    return null;
  }

  function runMeta(run) {
    if (run.pending) return "waiting for the command…";
    const parts = [];
    if (run.status !== null) parts.push(`status ${run.status}`);
    parts.push(P.duration(run.duration_ms));
    if (run.attempts.length > 1) {
      parts.push(`${run.attempts.length} attempts: ${run.attempts.map((a) => a.status ?? a.error).join(" → ")}`);
    }
    if (run.answered_like) parts.push("answered from the command's ledger (a redelivery)");
    return parts.join(" · ");
  }

  function botReply(run, label, interactive) {
    return turn(run.pending ? "from-bot pending" : "from-bot", label, run.started_at, (bubble) => {
      const trouble = runProblem(run);
      if (trouble) {
        bubble.classList.add("failed");
        bubble.append(problemBox(trouble.status, trouble.code, trouble.message));
      } else if (!run.pending) {
        P.renderReply(bubble, run.reply, { interactive });
      }
      const meta = element("div", "meta", runMeta(run));
      if (run.duration_ms > SLOW_MS) {
        meta.classList.add("slow");
        meta.textContent += " · slow: Dailybot would have said the command is taking long";
      }
      bubble.append(meta);
    });
  }

  function followUpLabel(message, run) {
    const source = message.job || (run ? run.subject : null) || P.commandName(message.command_uuid);
    return `${source} (follow-up)`;
  }

  function targets(message) {
    return [
      ...(message.target_users || []).map(P.userName),
      ...(message.target_channels || []).map((c) => `#${typeof c === "string" ? c : c.id}`),
      ...(message.target_teams || []).map((t) => `team ${t}`),
    ].join(", ");
  }

  function followUp(message, run, interactive) {
    return turn("from-bot follow-up", followUpLabel(message, run), message.created_at, (bubble) => {
      P.renderReply(bubble, message, { interactive });
      const parts = [`to ${targets(message) || "—"}`];
      if (message.offset_ms !== null && message.offset_ms !== undefined) {
        parts.push(`${P.duration(message.offset_ms)} after the ${run ? run.kind.replace("_", " ") : "delivery"}`);
      }
      bubble.append(element("div", "meta", parts.join(" · ")));
    });
  }

  // The platform calls a run made: failures shown, the rest folded.
  function calls(run) {
    const fragment = document.createDocumentFragment();
    const failed = run.calls.filter((c) => c.status >= 400);
    for (const call of failed) {
      const line = element("div", "call-failure");
      line.append(
        element("span", "", `${call.job ? `${call.job}: ` : ""}${call.summary} → `),
        problemBox(call.status, codeOf(call.response), ""),
      );
      fragment.append(line);
    }
    if (run.calls.length) {
      const details = element("details", "calls");
      const more = run.calls_total > run.calls.length ? ` (first ${run.calls.length})` : "";
      details.append(element("summary", "", `${run.calls_total} platform call${run.calls_total === 1 ? "" : "s"}${more}`));
      const list = element("ul");
      for (const call of run.calls) {
        const entry = element("li", `call ${P.statusClass(call.status)}`);
        entry.append(
          element("span", "summary", call.summary),
          element("span", "status", String(call.status)),
          element("span", "timing", `+${P.duration(call.offset_ms)} · ${P.duration(call.latency_ms)}`),
        );
        if (call.job) entry.append(element("span", "job", call.job));
        list.append(entry);
      }
      details.append(list);
      fragment.append(details);
    }
    return fragment;
  }

  function codeOf(text) {
    try {
      return JSON.parse(text || "{}").code;
    } catch {
      return undefined;
    }
  }

  function caused(run, interactive) {
    const node = element("div", "caused");
    for (const message of run.follow_ups) node.append(followUp(message, run, interactive));
    node.append(calls(run));
    return node;
  }

  function renderInvocation(item, node, interactive) {
    const [run] = item.runs;
    const typed = `${run.subject}${run.query ? ` ${run.query}` : ""}`;
    if (item.replay) {
      node.append(system(`↻ replay of ${run.subject} (${item.replay.mode === "edited" ? "edited" : "as it was"})`, item.at));
    } else {
      node.append(turn("from-user", P.userName(run.user_uuid), item.at, (b) => b.append(element("span", "typed", typed))));
    }
    node.append(botReply(run, run.subject, interactive), caused(run, interactive));
  }

  function system(text, at) {
    const line = element("div", "system");
    line.append(element("span", "", text));
    if (at) {
      const time = element("time", "", P.clockTime(at));
      time.title = at;
      line.append(time);
    }
    return line;
  }

  function renderEvent(item, node, interactive) {
    node.append(system(`⚡ ${item.subject} in ${P.organizationName(item.organization_uuid)}`, item.at));
    if (item.body && Object.keys(item.body).length) {
      const body = element("details", "event-body");
      body.append(element("summary", "", "event body"), element("pre", "", P.pretty(item.body)));
      node.append(body);
    }
    if (item.outcome && item.outcome.hooks === 0) {
      node.append(element("div", "meta centered", "no hook of this organization is subscribed to it"));
    }
    for (const run of item.runs) {
      node.append(botReply(run, `${P.commandName(run.command_uuid)} (event)`, interactive), caused(run, interactive));
    }
  }

  function renderScheduled(item, node, interactive) {
    const [run] = item.runs;
    node.append(system(`⏰ ${run.subject} (scheduled)`, item.at));
    node.append(botReply(run, `${run.subject} (scheduled)`, interactive), caused(run, interactive));
  }

  function renderRefused(item, node) {
    const typed = `${item.subject}${item.body && item.body.query ? ` ${item.body.query}` : ""}`;
    node.append(turn("from-user", P.userName(item.user_uuid), item.at, (b) => b.append(element("span", "typed", typed))));
    const outcome = item.outcome || {};
    node.append(
      turn("from-bot", item.subject, null, (bubble) => {
        bubble.classList.add("failed");
        bubble.append(problemBox(outcome.status, outcome.code, outcome.detail));
        bubble.append(element("div", "meta", "no command was called"));
      }),
    );
  }

  function renderMessageItem(item, node, interactive) {
    node.append(followUp(item.message, null, interactive));
    const why = item.message.correlation_id
      ? "sent for a delivery the emulator no longer holds"
      : "not linked: it carried no X-Correlation-Id";
    node.lastChild.querySelector(".meta").textContent += ` · ${why}`;
  }

  const RENDERERS = {
    invocation: renderInvocation,
    event: (item, node, interactive) =>
      item.runs.length && item.replay ? renderInvocation(item, node, interactive) : renderEvent(item, node, interactive),
    scheduled_execution: (item, node, interactive) =>
      item.replay ? renderInvocation(item, node, interactive) : renderScheduled(item, node, interactive),
    refused: renderRefused,
    message: renderMessageItem,
  };

  function itemNode(item, interactive) {
    const node = element("li", `item item-${item.kind}`);
    node.dataset.itemId = item.id;
    node.dataset.seq = String(item.seq);
    const render = RENDERERS[item.kind];
    if (render) render(item, node, interactive);
    return node;
  }

  // ---- the list --------------------------------------------------------------------------

  function list() {
    return document.getElementById("conversation");
  }

  function nearBottom() {
    const node = list();
    return node.scrollHeight - node.scrollTop - node.clientHeight < 80;
  }

  function place(item) {
    const node = list();
    const follow = nearBottom();
    const fresh = itemNode(item, true);
    const existing = node.querySelector(`[data-item-id="${CSS.escape(item.id)}"]`);
    if (existing) {
      // Keep what the person opened (details) open.
      const open = [...existing.querySelectorAll("details[open] > summary")].map((s) => s.textContent);
      for (const details of fresh.querySelectorAll("details")) {
        if (open.includes(details.querySelector("summary").textContent)) details.open = true;
      }
      existing.replaceWith(fresh);
    } else {
      const after = [...node.children].find((child) => Number(child.dataset.seq) > item.seq);
      node.insertBefore(fresh, after || null);
    }
    if (follow) node.scrollTop = node.scrollHeight;
  }

  function upsert(item) {
    if (transcript || !belongs(item)) return;
    items.set(item.id, item);
    document.getElementById("conversation-empty").hidden = true;
    place(item);
  }

  function remove(ids) {
    for (const id of ids) {
      items.delete(id);
      const node = list().querySelector(`[data-item-id="${CSS.escape(id)}"]`);
      if (node) node.remove();
    }
  }

  function has(id) {
    return items.has(id);
  }

  function clear() {
    items.clear();
    list().replaceChildren();
    document.getElementById("conversation-empty").hidden = false;
  }

  async function load() {
    if (transcript) return;
    const result = await P.api("GET", "timeline", undefined, {
      organization_uuid: P.selection.organization,
      user_uuid: P.selection.user,
      after: start(),
    });
    if (!result.ok) return;
    P.timelineId = result.data.timeline_id;
    P.lastSeq = result.data.seq;
    clear();
    earlier = result.data.earlier;
    for (const item of result.data.items) upsert(item);
    document.getElementById("earlier").hidden = earlier === null;
    list().scrollTop = list().scrollHeight;
  }

  async function loadEarlier() {
    if (earlier === null) return;
    const result = await P.api("GET", "timeline", undefined, {
      organization_uuid: P.selection.organization,
      user_uuid: P.selection.user,
      after: start(),
      before: earlier,
    });
    if (!result.ok) return;
    earlier = result.data.earlier;
    for (const item of result.data.items) upsert(item);
    document.getElementById("earlier").hidden = earlier === null;
  }

  async function fetchItem(id) {
    const result = await P.api("GET", `timeline/${encodeURIComponent(id)}`);
    if (result.ok) upsert(result.data);
  }

  // A new conversation starts after everything the timeline holds now.
  async function startNew() {
    const result = await P.api("GET", "timeline", undefined, { limit: 1 });
    if (result.ok) {
      P.timelineId = result.data.timeline_id;
      localStorage.setItem(startKey(), String(result.data.seq));
    }
    leaveTranscript();
    clear();
    document.getElementById("earlier").hidden = true;
  }

  // ---- transcripts ----------------------------------------------------------------------

  function save() {
    const shown = transcript ? transcript.items : [...items.values()].sort((a, b) => a.seq - b.seq);
    const document_ = {
      format: TRANSCRIPT_FORMAT,
      version: 1,
      saved_at: new Date().toISOString(),
      emulator_clock: P.clockNow,
      organization: { uuid: P.selection.organization, name: P.organizationName(P.selection.organization) },
      user: { uuid: P.selection.user, full_name: P.userName(P.selection.user) },
      users: P.world.users,
      commands: P.world.commands,
      items: shown,
    };
    const blob = new Blob([JSON.stringify(document_, null, 2)], { type: "application/json" });
    const link = element("a");
    link.href = URL.createObjectURL(blob);
    const day = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
    link.download = `transcript-${slug(document_.user.full_name)}-${day}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }

  function slug(text) {
    return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "user";
  }

  function parseTranscript(text) {
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error("the file is not JSON");
    }
    if (!data || data.format !== TRANSCRIPT_FORMAT || !Array.isArray(data.items)) {
      throw new Error(`the file is not a playground transcript (no "format": "${TRANSCRIPT_FORMAT}")`);
    }
    if (data.items.some((item) => !item || typeof item.kind !== "string" || !Array.isArray(item.runs))) {
      throw new Error("the transcript holds an item the playground cannot show");
    }
    return data;
  }

  function showTranscript(data) {
    transcript = data;
    // Names of users and commands the transcript knew, for ones this emulator does not.
    for (const user of data.users || []) {
      if (!P.world.users.some((u) => u.uuid === user.uuid)) P.world.users.push({ ...user, foreign: true });
    }
    for (const command of data.commands || []) {
      if (!P.world.commands.some((c) => c.uuid === command.uuid)) P.world.commands.push(command);
    }
    const banner = document.getElementById("transcript-banner");
    banner.querySelector(".what").textContent =
      `Transcript of ${data.user?.full_name ?? "?"} in ${data.organization?.name ?? "?"}, saved ${data.saved_at ?? "?"} (${data.items.length} items, read-only).`;
    banner.hidden = false;
    document.getElementById("composer").classList.add("disabled");
    document.getElementById("command").disabled = true;
    list().replaceChildren();
    document.getElementById("conversation-empty").hidden = data.items.length > 0;
    document.getElementById("earlier").hidden = true;
    for (const item of data.items) list().append(itemNode(item, false));
  }

  function leaveTranscript() {
    if (!transcript) return false;
    transcript = null;
    document.getElementById("transcript-banner").hidden = true;
    document.getElementById("composer").classList.remove("disabled");
    document.getElementById("command").disabled = false;
    return true;
  }

  function wire() {
    document.getElementById("save-transcript").addEventListener("click", save);
    const input = document.getElementById("transcript-file");
    document.getElementById("load-transcript").addEventListener("click", () => input.click());
    input.addEventListener("change", async () => {
      const [file] = input.files;
      input.value = "";
      if (!file) return;
      try {
        showTranscript(parseTranscript(await file.text()));
        P.say(`Loaded ${file.name}`, true);
      } catch (error) {
        P.say(`Cannot load ${file.name}: ${error.message}`, false);
      }
    });
    document.getElementById("back-to-live").addEventListener("click", () => {
      if (leaveTranscript()) load();
    });
    document.getElementById("earlier").addEventListener("click", loadEarlier);
  }

  P.conversation = { upsert, remove, has, load, fetchItem, startNew, wire, clear, parseTranscript };
})();
