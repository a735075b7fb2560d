// The dashboard's script: live updates of a run page from the run's
// Server-Sent Events (and, while no stream is open, from the run's JSON
// every 2 s, so an approval or resume made in a terminal shows), the other
// pages' `data-live` regions refreshed from the server every 2 s, and the actions (approve, reject, resume, roll back,
// release a lock) sent to the JSON API with the bearer token typed into the
// `Token` field. Without it every page is still complete as the server
// rendered it; nothing here is fetched from anywhere but this server.
"use strict";

(function () {
  // ---- The status words (the same as the server's, src/server/page/html.rs).
  function word(status) {
    if (status === "rolled_back") return "rolled back";
    if (status === "rollback_failed") return "rollback failed";
    if (status === "not_started" || !status) return "pending";
    return status;
  }

  function badge(element, status) {
    const text = word(status);
    element.textContent = text;
    element.className = "status s-" + text.replace(/ /g, "-");
  }

  function duration(ms) {
    if (ms < 1000) return ms + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
    return Math.floor(ms / 60000) + " min " + Math.floor((ms % 60000) / 1000) + " s";
  }

  // ---- What the events say about each node: the same fold as
  // src/server/page/node_status.rs.
  function emptyNode() {
    return { status: "", hosts: {}, rollout: null, outcome: null, until: null, untilAt: null, retries: 0, output: [] };
  }

  function host(view, name) {
    if (!view.hosts[name]) view.hosts[name] = { status: "", attempt: null, batch: null };
    return view.hosts[name];
  }

  function outcome(event) {
    let text = event.type === "approval_refused"
      ? "refused for " + event.approver + ": " + event.reason
      : event.outcome || "";
    if (event.message) text += ": " + event.message;
    return text;
  }

  function apply(view, event, isGate) {
    const name = event.host || "";
    switch (event.type) {
      case "node_started":
        if (!name) view.status = "running";
        else { const h = host(view, name); h.status = "running"; h.attempt = event.attempt || null; }
        break;
      case "node_finished":
        if (!name) view.status = isGate && event.status === "paused" ? "waiting" : event.status;
        else host(view, name).status = event.status;
        break;
      case "node_skipped":
        if (view.status !== "succeeded") view.status = "skipped";
        break;
      case "gate_waiting":
      case "approval_requested":
        view.status = "waiting";
        if (event.until) { view.until = "until " + event.until; view.untilAt = Date.parse(event.until); }
        break;
      case "gate_evaluation":
        if (typeof event.remaining_ms === "number") {
          view.until = duration(event.remaining_ms) + " left";
          view.untilAt = Date.now() + event.remaining_ms;
        }
        break;
      case "gate_outcome":
      case "approval_refused":
        view.outcome = outcome(event);
        break;
      case "approved":
        view.outcome = "approved by " + event.approver;
        break;
      case "retry":
        view.retries += 1;
        break;
      case "rollout_step": {
        const label = event.phase + " " + event.index + "/" + event.count + ": " + event.label;
        view.rollout = typeof event.weight === "number" && event.label.indexOf("%") < 0
          ? label + " (" + event.weight + "% of requests)" : label;
        (event.hosts || []).forEach(function (h) { host(view, h).batch = event.phase + " " + event.index; });
        break;
      }
      case "rollback_step_started":
        mark(view, name, "rolling back");
        break;
      case "rollback_step":
        mark(view, name, event.status === "succeeded" ? "rolled back" : "rollback failed");
        break;
      case "step_output":
        view.output.push([name, event.stream, event.line]);
        break;
    }
  }

  function mark(view, name, status) {
    if (name) host(view, name).status = status;
    view.status = status;
  }

  // ---- A run page.
  function runPage(root) {
    const runId = root.dataset.run;
    const gates = new Set(Array.from(document.querySelectorAll("[data-kind=gate]")).map(function (n) { return n.dataset.node; }));
    let nodes = {};
    let journalRows = 0;
    let source = null;
    let scheduled = false;
    let lastSeq = -1;
    let runStatus = root.dataset.status;
    let retriesLeft = 0;
    let approvals = [];

    function node(name) {
      if (!nodes[name]) nodes[name] = emptyNode();
      return nodes[name];
    }

    function render() {
      scheduled = false;
      Object.keys(nodes).forEach(function (name) { renderNode(name, nodes[name]); });
      const status = root.querySelector("[data-run-status] .status");
      if (status) badge(status, runStatus);
      const given = document.querySelector("[data-approvals]");
      if (given && approvals.length) given.textContent = approvals.join(", ");
      showActions();
    }

    function schedule() {
      if (!scheduled) { scheduled = true; window.requestAnimationFrame(render); }
    }

    function renderNode(name, view) {
      const status = view.status || "pending";
      document.querySelectorAll("[data-node=\"" + CSS.escape(name) + "\"]").forEach(function (element) {
        element.classList.forEach(function (c) { if (c.indexOf("s-") === 0) element.classList.remove(c); });
        element.classList.add("s-" + word(status).replace(/ /g, "-"));
        const text = element.querySelector("[data-status]");
        if (text) {
          if (text.classList.contains("status")) badge(text, status); else text.textContent = word(status);
        }
        const title = element.querySelector("title");
        if (title) title.textContent = element.dataset.kind + " " + name + ": " + word(status);
      });
      const row = document.getElementById("node-" + name);
      if (!row) return;
      field(row, "hosts", hostList(view));
      field(row, "rollout", view.rollout || "—");
      const gate = [view.outcome, countdown(view)].filter(Boolean).join("; ");
      field(row, "gate", gate || "—");
      field(row, "retries", String(view.retries));
      const pre = document.querySelector("[data-output=\"" + CSS.escape(name) + "\"]");
      if (pre) {
        pre.textContent = view.output.map(function (o) {
          return (o[0] ? "[" + o[0] + "] " : "") + (o[1] === "stderr" ? "! " : "") + o[2];
        }).join("\n") + (view.output.length ? "\n" : "");
        const count = pre.parentElement.querySelector("[data-count]");
        if (count) count.textContent = "(" + view.output.length + " lines)";
      }
    }

    function countdown(view) {
      if (view.status !== "waiting" && view.status !== "running") return view.until;
      if (!view.untilAt || isNaN(view.untilAt)) return view.until;
      const left = Math.max(0, view.untilAt - Date.now());
      return view.until + " (" + Math.ceil(left / 1000) + " s to go)";
    }

    function field(row, name, content) {
      const cell = row.querySelector("[data-field=" + name + "]");
      if (!cell) return;
      if (typeof content === "string") cell.textContent = content;
      else { cell.textContent = ""; cell.appendChild(content); }
    }

    function hostList(view) {
      const names = Object.keys(view.hosts).sort();
      if (!names.length) return "—";
      const list = document.createElement("ul");
      list.className = "hosts";
      names.forEach(function (name) {
        const h = view.hosts[name];
        const item = document.createElement("li");
        item.dataset.host = name;
        item.appendChild(document.createTextNode(name + " "));
        const b = document.createElement("span");
        badge(b, h.status || "pending");
        item.appendChild(b);
        if (h.batch) { const s = document.createElement("small"); s.textContent = " " + h.batch; item.appendChild(s); }
        if (h.attempt && h.attempt > 1) {
          const s = document.createElement("small"); s.textContent = " attempt " + h.attempt; item.appendChild(s);
        }
        list.appendChild(item);
      });
      return list;
    }

    function journalRow(event) {
      const body = document.querySelector("[data-journal]");
      if (!body || event.seq < journalRows) return;
      journalRows = event.seq + 1;
      const row = document.createElement("tr");
      [String(event.seq), event.time || "", event.type, summary(event)].forEach(function (text) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      body.appendChild(row);
    }

    function onEvent(message) {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      const seq = Number(message.lastEventId);
      if (!isNaN(seq)) { if (seq <= lastSeq) return; lastSeq = seq; event.seq = seq; }
      if (event.type === "run_started") runStatus = "running";
      if (event.type === "run_finished") runStatus = event.status;
      if (event.type === "approved") {
        const given = event.node + " by " + event.approver;
        if (approvals.indexOf(given) < 0) approvals.push(given);
      }
      if (event.node) apply(node(event.node), event, gates.has(event.node));
      journalRow(event);
      schedule();
    }

    function subscribe() {
      if (source) source.close();
      source = new EventSource("/api/runs/" + encodeURIComponent(runId) + "/events");
      source.onmessage = onEvent;
      source.addEventListener("end", function (message) {
        source.close();
        source = null;
        try { runStatus = JSON.parse(message.data).status; } catch (e) { /* keep the last status */ }
        schedule();
        // Right after an action the run may not have restarted yet: look again.
        if (retriesLeft > 0 && (runStatus === "paused" || runStatus === "crashed")) {
          retriesLeft -= 1;
          window.setTimeout(subscribe, 300);
        }
      });
      source.onerror = function () {
        if (source && source.readyState === EventSource.CLOSED) source = null;
      };
    }

    // The run paused or crashed while the page was open: the gates' actions
    // as the server renders them now (a canary's step, hosts and last
    // analysis), unless one holds the focus.
    let actionsFor = "";
    function refreshActions() {
      const list = document.querySelector("[data-run-actions]");
      const key = runStatus + ":" + lastSeq;
      if (!list || actionsFor === key || list.contains(document.activeElement)) return;
      actionsFor = key;
      fetch(window.location.href, { headers: { Accept: "text/html" } })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (!html) return;
          const fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-run-actions]");
          if (!fresh || list.contains(document.activeElement)) return;
          list.innerHTML = fresh.innerHTML;
          wireButtons(list, pageApi);
          showActions();
        })
        .catch(function () { actionsFor = ""; });
    }

    function showActions() {
      document.querySelectorAll("[data-gate-actions]").forEach(function (form) {
        const view = nodes[form.dataset.gateActions];
        form.hidden = !(view && view.status === "waiting" && runStatus === "paused");
      });
      const resume = document.querySelector("[data-resume]");
      if (resume) resume.hidden = !(runStatus === "paused" || runStatus === "crashed");
      if (!source && (runStatus === "paused" || runStatus === "crashed")) refreshActions();
    }

    // Recorded events replace what the server rendered, then live ones follow.
    journalRows = document.querySelectorAll("[data-journal] tr").length;
    nodes = {};
    subscribe();
    window.setInterval(function () {
      Object.keys(nodes).forEach(function (name) { if (nodes[name].untilAt) renderNode(name, nodes[name]); });
    }, 1000);
    // No stream open (the run is paused, or ended): what changed elsewhere —
    // an approval or a resume in a terminal, another browser, the watcher.
    window.setInterval(function () {
      if (source || document.hidden) return;
      fetch("/api/runs/" + encodeURIComponent(runId), { headers: { Accept: "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (run) {
          if (!run) return;
          let changed = false;
          (run.approvals || []).forEach(function (approval) {
            const given = approval.gate + " by " + approval.approver;
            if (approvals.indexOf(given) < 0) { approvals.push(given); changed = true; }
          });
          if (run.status !== runStatus) { runStatus = run.status; lastSeq = -1; nodes = {}; subscribe(); changed = true; }
          if (changed) schedule();
        })
        .catch(function () { /* the next poll tries again */ });
    }, 2000);
    const pageApi = { again: function () { retriesLeft = 30; lastSeq = -1; nodes = {}; subscribe(); } };
    return pageApi;
  }

  function summary(event) {
    const skip = { schema: 1, seq: 1, time: 1, type: 1 };
    return Object.keys(event).filter(function (k) { return !skip[k]; }).map(function (k) {
      const v = event[k];
      return k + "=" + (typeof v === "string" ? v : JSON.stringify(v));
    }).join(" ");
  }

  // ---- Actions.
  function tokenInput() { return document.querySelector("input[data-token]"); }

  function say(text, failed) {
    const out = document.querySelector("[data-action-result]");
    if (!out) return;
    out.textContent = text;
    out.className = failed ? "result refused" : "result";
  }

  function send(method, url, body) {
    const input = tokenInput();
    const token = input ? input.value.trim() : "";
    if (input && token) window.sessionStorage.setItem("deploy-token", token);
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(url, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (answer) {
        return answer.json().catch(function () { return {}; }).then(function (json) { return { ok: answer.ok, status: answer.status, json: json }; });
      });
  }

  function refusal(answer) {
    const error = answer.json && answer.json.error;
    return "Refused (" + answer.status + (error ? " " + error.code + "): " + error.message : ")");
  }

  // A link to the run an action started (a rollback's), after the answer.
  function linkRun(runId) {
    const out = document.querySelector("[data-action-result]");
    const here = document.getElementById("run");
    if (!out || !runId || (here && here.dataset.run === runId)) return;
    const link = document.createElement("a");
    link.href = "/runs/" + encodeURIComponent(runId);
    link.textContent = "follow run " + runId;
    link.setAttribute("data-started-run", runId);
    out.appendChild(document.createTextNode(" — "));
    out.appendChild(link);
  }

  function post(url, body, done, page) {
    say("Sending…", false);
    send("POST", url, body).then(function (answer) {
      if (!answer.ok) { say(refusal(answer), true); return; }
      say(done(answer.json), false);
      linkRun(answer.json.run_id);
      if (page) page.again();
    }).catch(function (error) { say("The server could not be reached: " + error, true); });
  }

  function confirmRollback(button, page) {
    const env = button.dataset.rollback;
    const base = "/api/environments/" + encodeURIComponent(env) + "/rollback";
    const box = document.querySelector("[data-confirm]");
    send("GET", base).then(function (answer) {
      if (!answer.ok) { say(refusal(answer), true); return; }
      const p = answer.json;
      box.querySelector("[data-confirm-text]").textContent =
        "Roll back " + p.environments.join(", ") + " from " + p.from_version + " to " + (p.to_version || "nothing") +
        ": this undoes run " + p.undoes + " (" + p.units.join(", ") + ").";
      box.hidden = false;
      const yes = box.querySelector("[data-confirm-yes]");
      yes.focus();
      yes.onclick = function () {
        box.hidden = true;
        post(base, {}, function (json) { return "Rolling back: run " + json.run_id; }, null);
        button.focus();
      };
      box.querySelector("[data-confirm-no]").onclick = function () { box.hidden = true; button.focus(); say("Nothing was rolled back.", false); };
    });
  }

  function wire(page) {
    const input = tokenInput();
    if (input && !input.value) input.value = window.sessionStorage.getItem("deploy-token") || "";
    wireButtons(document, page);
  }

  function wireButtons(scope, page) {
    scope.querySelectorAll("button[data-post]").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.disabled = false;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        const body = button.dataset.body ? JSON.parse(button.dataset.body) : {};
        post(button.dataset.post, body, function (json) { return button.dataset.done + (json.run_id ? " (run " + json.run_id + ")" : ""); }, button.dataset.live ? page : null);
      });
    });
    scope.querySelectorAll("button[data-rollback]").forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.disabled = false;
      button.addEventListener("click", function (event) { event.preventDefault(); confirmRollback(button, page); });
    });
  }

  // ---- Pages other than a run's: their `data-live` regions as the server
  // renders them now, every 2 s (not while one holds the focus).
  // `served`: each region's HTML as the server sent it (before the buttons were wired).
  function livePage(served) {
    if (!document.querySelector("[data-live]")) return;
    let busy = false;
    window.setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(window.location.href, { headers: { Accept: "text/html" } })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (!html) return;
          const fresh = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-live]").forEach(function (region) {
            const next = fresh.querySelector("[data-live=\"" + region.dataset.live + "\"]");
            const name = region.dataset.live;
            if (!next || next.innerHTML === served[name] || region.contains(document.activeElement)) return;
            served[name] = next.innerHTML;
            region.innerHTML = next.innerHTML;
            wireButtons(region, null);
          });
        })
        .catch(function () { /* the next refresh tries again */ })
        .then(function () { busy = false; });
    }, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.getElementById("run");
    const served = {};
    document.querySelectorAll("[data-live]").forEach(function (region) { served[region.dataset.live] = region.innerHTML; });
    const page = root ? runPage(root) : null;
    wire(page);
    if (!root) livePage(served);
    document.documentElement.classList.add("js");
  });
})();
