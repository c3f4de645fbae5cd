// Feature Flags: each flag per source and its effective value (/admin/feature-flags), the
// rollout among active sessions (/stats), the audit trail (/events), shadow mode when the
// server has it; and the controls, each behind a confirmation, that POST database values.
"use strict";

(() => {
  if (!Dash.start()) return;
  const { el, fixed, ago, text } = Dash;
  const value = (v) => (v === null || v === undefined ? "–" : v === 1 ? "on" : v === 0 ? "off" : `${fixed(100 * v, 0)}%`);

  async function change(body, message) {
    if (!(await Dash.confirmAction(message))) return;
    try {
      await Dash.call("/admin/feature-flags", { method: "POST", body });
      await refresh();
    } catch (err) {
      text("status", "change refused: " + err.message);
    }
  }

  function controls(name) {
    const fraction = el("input", { type: "number", min: 0, max: 1, step: 0.01, value: 0.1, className: "fraction", title: "rollout fraction in [0, 1]" });
    const button = (label, action, onClick, cls = "") => el("button", { type: "button", textContent: label, className: cls, dataset: { action }, onclick: onClick });
    return el("div", { className: "controls" },
      button("Off", "off", () => change({ [name]: false }, `Turn ${name} off for every session?`), "danger"),
      button("On", "on", () => change({ [name]: true }, `Turn ${name} on for every session?`)),
      fraction,
      button("Set fraction", "fraction", () => {
        const f = Number(fraction.value);
        if (!(fraction.value !== "" && f >= 0 && f <= 1)) { text("status", `the fraction must be a number in [0, 1], got "${fraction.value}"`); return; }
        change({ [name]: f }, `Roll ${name} out to ${fixed(100 * f, 0)}% of sessions?`);
      }));
  }

  const rows = new Map();
  function row(name) {
    if (!rows.has(name)) {
      const cells = Object.fromEntries(["env", "config_file", "database", "effective", "percent", "enabled", "changed"].map((k) => [k, el("td", { className: k })]));
      const tr = el("tr", { dataset: { flag: name } },
        el("td", {}, el("strong", { textContent: name }), el("div", { className: "muted description" })),
        ...Object.values(cells), el("td", {}, controls(name)));
      rows.set(name, { tr, cells });
      document.getElementById("flags").append(tr);
    }
    return rows.get(name);
  }

  function showShadow(shadow) {
    const body = document.getElementById("shadow-body");
    if (shadow === null) {
      body.textContent = "Not served by this server (GET /admin/shadow answered 404): no shadow comparison to show.";
      return;
    }
    body.classList.remove("muted");
    const cell = (key, label, v) => el("div", { className: "tile", dataset: { shadow: key } },
      el("div", { className: "label", textContent: label }), el("div", { className: "value", textContent: v }));
    body.replaceChildren(el("div", { className: "tiles" },
      cell("sample_rate", "sample rate", `${fixed(100 * shadow.sample_rate, 0)}%`),
      cell("runs", "runs", String(shadow.runs)),
      cell("dropped", "dropped (queue full)", String(shadow.dropped)),
      cell("enhanced", "enhanced p50 / p95", `${fixed(shadow.enhanced_p50_ms)} / ${fixed(shadow.enhanced_p95_ms)} ms`),
      cell("legacy", "legacy p50 / p95", `${fixed(shadow.legacy_p50_ms)} / ${fixed(shadow.legacy_p95_ms)} ms`),
      cell("overlap", "mean overlap (Jaccard)", fixed(shadow.mean_overlap, 2))));
  }

  async function refresh() {
    const [snapshot, stats, events, shadow, rollouts] = await Promise.all([
      Dash.call("/admin/feature-flags"),
      Dash.call("/admin/feature-flags/stats"),
      Dash.call("/admin/feature-flags/events?limit=50"),
      Dash.optional("/admin/shadow"),
      Dash.optional("/admin/rollouts"),
    ]);
    text("active", `(${stats.active_sessions} active sessions, seen within ${fixed(stats.window_s / 60, 0)} min)`);
    text("precedence", snapshot.precedence);
    for (const [name, flag] of Object.entries(snapshot.flags)) {
      const { tr, cells } = row(name);
      const rollout = stats.flags[name];
      tr.querySelector(".description").textContent = flag.description;
      cells.env.textContent = value(flag.sources.env);
      cells.config_file.textContent = value(flag.sources.config_file);
      cells.database.textContent = value(flag.sources.database);
      cells.effective.replaceChildren(el("span", { className: "badge" + (flag.effective === 0 ? " bad" : ""), textContent: flag.state }));
      cells.percent.textContent = `${fixed(rollout.percent_enabled, 0)}%`;
      cells.enabled.textContent = `${rollout.enabled_sessions} of ${rollout.active_sessions}`;
      cells.enabled.dataset.count = String(rollout.enabled_sessions);
      cells.changed.textContent = rollout.seconds_since_last_change === null ? "never" : ago(rollout.seconds_since_last_change) + " ago";
    }
    document.getElementById("events").replaceChildren(...events.events.map((e) =>
      el("tr", {}, el("td", { textContent: new Date(e.created_at).toLocaleString() }), el("td", { textContent: e.flag }),
        el("td", { textContent: value(e.old_value) }), el("td", { textContent: value(e.new_value) }),
        el("td", { textContent: e.source }), el("td", { textContent: e.actor }))));
    showShadow(shadow);
    showRollouts(rollouts);
  }

  function showRollouts(answer) {
    const list = answer === null ? [] : answer.rollouts;
    document.getElementById("rollouts").replaceChildren(...(list.length ? list.map((r) =>
      el("tr", { dataset: { rollout: r.flag, state: r.state } },
        el("td", { textContent: r.flag }),
        el("td", {}, el("span", { className: "badge" + (r.state === "aborted" ? " bad" : ""), textContent: r.state })),
        el("td", { textContent: `${r.step_index + 1} of ${r.steps.length}` }),
        el("td", { textContent: value(r.value) }),
        el("td", { textContent: r.next_value === null ? "-" : value(r.next_value) }),
        el("td", { textContent: r.next_step_at === null ? "-" : new Date(r.next_step_at).toLocaleString() }),
        el("td", { textContent: r.reason || "-" })))
      : [el("tr", {}, el("td", { colSpan: 7, className: "muted", textContent: answer === null
        ? "Not served by this server (GET /admin/rollouts answered 404)."
        : "No rollout yet: memory-system rollout start FLAG --steps 0.01,0.1,0.5,1 --hold 1h" }))]));
  }

  document.getElementById("rollback").addEventListener("click", () => {
    const all = Object.fromEntries([...rows.keys()].map((name) => [name, false]));
    change(all, "Roll back: turn ALL flags off (legacy mode) for every session?");
  });
  Dash.poll(refresh);
})();
