// The inspector: every delivery the emulator made (with its attempts, timings, the body sent
// and the reply) and every platform call a command made, newest first, filtered by kind,
// subject, status and organization. A delivery can be sent again as it was (Dailybot's
// redelivery, which the command's ledger answers as a duplicate) or edited (a new delivery).
"use strict";

(() => {
  const P = window.Playground;
  const { element } = P;
  const PAGE = 50;

  const rows = new Map(); // key -> row ({type: "run", run} | {type: "call", call})
  const opened = new Set();
  let older = null;

  function filters() {
    return {
      kind: document.getElementById("filter-kind").value,
      subject: document.getElementById("filter-subject").value.trim(),
      status: document.getElementById("filter-status").value,
      organization_uuid: document.getElementById("filter-organization").value,
    };
  }

  function keyOf(row) {
    return row.type === "run" ? `run:${row.run.delivery_id}` : `call:${row.call.id}`;
  }

  function seqOf(row) {
    return row.type === "run" ? row.run.seq : row.call.seq;
  }

  // The same rules as GET /_emulator/inspector, for rows arriving on the stream.
  function matches(row, wanted) {
    const kind = row.type === "run" ? row.run.kind : "platform_call";
    const subject = row.type === "run" ? row.run.subject || "" : row.call.summary;
    const status = row.type === "run" ? row.run.status : row.call.status;
    const pending = row.type === "run" && row.run.pending;
    const organization = row.type === "run" ? row.run.organization_uuid : row.call.organization_uuid;
    if (wanted.kind && !wanted.kind.split(",").includes(kind)) return false;
    if (wanted.subject && !subject.toLowerCase().includes(wanted.subject.toLowerCase())) return false;
    if (wanted.organization_uuid && organization !== wanted.organization_uuid) return false;
    return statusMatches(wanted.status, status, pending);
  }

  function statusMatches(wanted, status, pending) {
    if (!wanted) return true;
    if (wanted === "pending") return pending;
    if (wanted === "none") return !pending && (status === null || status === undefined);
    if (/^\dxx$/.test(wanted)) return status !== null && status !== undefined && String(status)[0] === wanted[0];
    return String(status) === wanted;
  }

  // ---- rendering ------------------------------------------------------------------------

  function summaryOfRun(run) {
    const summary = element("summary");
    const failed = !run.pending && (run.status === null || run.status >= 400);
    const chain = run.pending ? "…" : run.attempts.map((a) => a.status ?? a.error).join(" → ");
    summary.append(
      element("span", `kind kind-${run.kind}`, run.replay_of ? `${run.kind} ↻` : run.kind),
      element("span", "subject", run.subject ?? "—"),
      element("span", failed ? "status bad" : "status", chain),
      element("span", "attempts", `${run.attempts.length} attempt${run.attempts.length === 1 ? "" : "s"}`),
      element("span", "latency", P.duration(run.duration_ms)),
      element("span", "organization", P.organizationName(run.organization_uuid)),
      element("span", "at", run.started_at),
    );
    return summary;
  }

  function timings(run) {
    const rows_ = [];
    let offset = 0;
    for (const attempt of run.attempts) {
      rows_.push([`attempt ${attempt.attempt}`, attempt.status ?? attempt.error, `+${P.duration(offset)}`, P.duration(attempt.latency_ms)]);
      offset += attempt.latency_ms || 0;
    }
    for (const call of run.calls) {
      rows_.push([`${call.job ? `${call.job}: ` : ""}${call.summary}`, call.status, `+${P.duration(call.offset_ms)}`, P.duration(call.latency_ms)]);
    }
    for (const message of run.follow_ups) {
      rows_.push([`follow-up${message.job ? ` (${message.job})` : ""}`, "sent", `+${P.duration(message.offset_ms)}`, "—"]);
    }
    rows_.sort((a, b) => parseOffset(a[2]) - parseOffset(b[2]));
    const total = run.duration_ms ?? 0;
    return P.table(["what", "status", "started", "took"], rows_.map((r) => [...r.slice(0, 3), bar(r, total)]));
  }

  function parseOffset(text) {
    const match = /\+([\d.]+) (ms|s)/.exec(text);
    if (!match) return 0;
    return Number(match[1]) * (match[2] === "s" ? 1000 : 1);
  }

  // The time an entry took, with a bar placed on the delivery's own span.
  function bar(row, total) {
    const cell = element("span", "timing");
    cell.append(element("span", "", row[3]));
    const start = parseOffset(row[2]);
    const took = parseOffset(`+${row[3]}`);
    const span = Math.max(total, start + took, 1);
    const track = element("span", "track");
    const fill = element("span", "fill");
    fill.style.marginLeft = `${Math.min(100, (start / span) * 100)}%`;
    fill.style.width = `${Math.max(1, Math.min(100, (took / span) * 100))}%`;
    track.append(fill);
    cell.append(track);
    return cell;
  }

  function replayControls(run, details) {
    const box = element("div", "replay");
    const result = element("p", "replay-result");
    const editor = element("textarea", "replay-body");
    editor.rows = 10;
    editor.spellcheck = false;
    editor.hidden = true;
    editor.setAttribute("aria-label", "Edited delivery body (JSON)");
    const send = P.button("Send edited", "primary send-edited");
    send.hidden = true;
    const asItWas = P.button("Replay as it was", "secondary replay-as-it-was", async () => {
      sending(result);
      show(result, await P.api("POST", `deliveries/${run.delivery_id}/replay`, { mode: "as_it_was" }));
    });
    const edit = P.button("Edit and replay", "secondary edit-and-replay", () => {
      editor.value = P.pretty(run.body);
      editor.hidden = false;
      send.hidden = false;
      editor.focus();
    });
    send.addEventListener("click", async () => {
      let body;
      try {
        body = JSON.parse(editor.value);
      } catch {
        result.className = "replay-result bad";
        result.textContent = "The edited body is not valid JSON.";
        return;
      }
      sending(result);
      show(result, await P.api("POST", `deliveries/${run.delivery_id}/replay`, { mode: "edited", body }));
    });
    box.append(asItWas, edit, editor, send, result);
    if (run.body_truncated) {
      edit.disabled = true;
      edit.title = "The body is too large to edit here.";
    }
    details.append(box);
  }

  function sending(node) {
    node.className = "replay-result";
    node.textContent = "sending…";
  }

  function show(node, result) {
    if (!result.ok) {
      node.className = "replay-result bad";
      node.textContent = P.problemText(result);
      return;
    }
    const data = result.data;
    node.className = "replay-result ok";
    const reply = data.reply && typeof data.reply === "object" ? data.reply.message ?? JSON.stringify(data.reply) : data.reply;
    node.textContent = `→ ${data.status_code ?? data.error} in ${P.duration(data.elapsed_ms)}: ${reply ?? ""}`;
  }

  function runNode(run) {
    const details = element("details", "delivery");
    details.dataset.key = `run:${run.delivery_id}`;
    details.append(summaryOfRun(run));
    details.append(element("h3", "", "Timings"), timings(run));
    details.append(element("h3", "", "Body sent"), element("pre", "body", run.body_truncated ? "(too large to show here)" : P.pretty(run.body)));
    details.append(element("h3", "", "Reply"), element("pre", "reply", P.pretty(run.reply ?? run.error ?? "")));
    const facts = [
      `delivery ${run.delivery_id}`,
      run.url,
      `sha256 ${run.body_sha256.slice(0, 12)}…`,
      `correlation ${run.correlation_id ?? "—"}`,
      run.replay_of ? `replays ${run.replay_of.slice(0, 8)} (${run.replay_mode})` : null,
      run.answered_like ? `answered like ${run.answered_like.slice(0, 8)}` : null,
    ];
    details.append(element("p", "meta", facts.filter(Boolean).join(" · ")));
    replayControls(run, details);
    return details;
  }

  function callNode(call) {
    const details = element("details", "delivery platform-call");
    details.dataset.key = `call:${call.id}`;
    const summary = element("summary");
    summary.append(
      element("span", "kind kind-platform_call", "platform call"),
      element("span", "subject", call.summary),
      element("span", call.status >= 400 ? "status bad" : "status", String(call.status)),
      element("span", "latency", P.duration(call.latency_ms)),
      element("span", "job", call.job ? `${call.job} (job)` : call.run ? `during ${call.run.subject}` : "unlinked"),
      element("span", "organization", P.organizationName(call.organization_uuid)),
      element("span", "at", call.at),
    );
    details.append(summary);
    details.append(element("h3", "", "Request"), element("pre", "body", `${call.method} ${call.path}\n${call.request ?? ""}`));
    details.append(element("h3", "", "Response"), element("pre", "reply", call.response ?? ""));
    const facts = [`correlation ${call.correlation_id ?? "—"}`, call.job_id ? `job run ${call.job_id}` : null];
    details.append(element("p", "meta", facts.filter(Boolean).join(" · ")));
    return details;
  }

  function nodeFor(row) {
    const node = row.type === "run" ? runNode(row.run) : callNode(row.call);
    const key = keyOf(row);
    node.dataset.seq = String(seqOf(row));
    node.open = opened.has(key);
    node.addEventListener("toggle", () => (node.open ? opened.add(key) : opened.delete(key)));
    return node;
  }

  // One row in place: a row that changed is rebuilt, keeping what the person was doing in it
  // (open, a replay's result, a body being edited).
  function place(row) {
    const target = document.getElementById("deliveries");
    const key = keyOf(row);
    const fresh = nodeFor(row);
    const existing = target.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (existing) {
      const replay = existing.querySelector(".replay");
      const replacement = fresh.querySelector(".replay");
      if (replay && replacement) replacement.replaceWith(replay);
      existing.replaceWith(fresh);
    } else {
      const before = [...target.children].find((child) => Number(child.dataset.seq) < seqOf(row));
      target.insertBefore(fresh, before || null);
    }
    target.querySelector(".empty")?.remove();
    document.getElementById("inspector-count").textContent = `${rows.size} shown`;
  }

  function render() {
    const target = document.getElementById("deliveries");
    const sorted = [...rows.values()].sort((a, b) => seqOf(b) - seqOf(a));
    target.replaceChildren(...sorted.map(nodeFor));
    if (!sorted.length) target.append(P.empty("Nothing matches: send a command, or change the filters."));
    document.getElementById("inspector-older").hidden = older === null;
    document.getElementById("inspector-count").textContent = `${sorted.length} shown`;
  }

  function take(row) {
    if (!matches(row, filters())) return;
    const key = keyOf(row);
    const known = rows.get(key);
    if (known && JSON.stringify(known) === JSON.stringify(row)) return;
    rows.set(key, row);
    place(row);
  }

  function fromItem(item) {
    for (const run of item.runs || []) take({ type: "run", run });
  }

  async function load() {
    const result = await P.api("GET", "inspector", undefined, { ...filters(), limit: PAGE });
    if (!result.ok) return;
    rows.clear();
    for (const row of result.data.rows) rows.set(keyOf(row), row);
    older = result.data.rows.length === PAGE ? seqOf(result.data.rows[result.data.rows.length - 1]) : null;
    render();
  }

  async function loadOlder() {
    if (older === null) return;
    const result = await P.api("GET", "inspector", undefined, { ...filters(), limit: PAGE, before: older });
    if (!result.ok) return;
    for (const row of result.data.rows) {
      rows.set(keyOf(row), row);
      place(row);
    }
    older = result.data.rows.length === PAGE ? seqOf(result.data.rows[result.data.rows.length - 1]) : null;
    document.getElementById("inspector-older").hidden = older === null;
  }

  function fillOrganizations() {
    const select = document.getElementById("filter-organization");
    for (const organization of P.world.organizations) {
      const option = element("option", "", organization.name);
      option.value = organization.uuid;
      select.append(option);
    }
  }

  function wire() {
    fillOrganizations();
    let typing = null;
    for (const id of ["filter-kind", "filter-status", "filter-organization"]) {
      document.getElementById(id).addEventListener("change", load);
    }
    document.getElementById("filter-subject").addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(load, 250);
    });
    document.getElementById("filter-clear").addEventListener("click", () => {
      for (const id of ["filter-status", "filter-organization", "filter-subject"]) {
        document.getElementById(id).value = "";
      }
      document.getElementById("filter-kind").selectedIndex = 0;
      load();
    });
    document.getElementById("inspector-older").addEventListener("click", loadOlder);
  }

  P.inspector = { load, wire, fromItem, take, clear: () => { rows.clear(); render(); } };
})();
