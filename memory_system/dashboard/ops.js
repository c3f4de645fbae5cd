// Real-Time Operations: /admin/overview (the alert engine's own numbers) and /health/deep,
// polled; each chart keeps the last samples in a ring buffer.
"use strict";

(() => {
  if (!Dash.start()) return;
  const { text, fixed, el } = Dash;
  const MB = 1024 * 1024;
  const rings = { latency: new Dash.Ring(4), errors: new Dash.Ring(2), memory: new Dash.Ring(2), cache: new Dash.Ring(1) };
  const charts = {
    latency: Dash.chart(document.getElementById("latency-chart"), [
      { label: "p50", stroke: "#2e5aac" },
      { label: "p95", stroke: "#c01048" },
      { label: "100 ms goal", stroke: "#12805c", dash: [6, 4] },
      { label: "500 ms critical", stroke: "#b54708", dash: [6, 4] },
    ], "ms (log)", { log: true }),
    errors: Dash.chart(document.getElementById("errors-chart"), [
      { label: "injection errors", stroke: "#c01048" },
      { label: "RAG timeouts", stroke: "#b54708" },
    ], "per min"),
    memory: Dash.chart(document.getElementById("memory-chart"), [
      { label: "resident", stroke: "#2e5aac" },
      { label: "limit", stroke: "#c01048", dash: [6, 4] },
    ], "MB"),
    cache: Dash.chart(document.getElementById("cache-chart"), [{ label: "hit rate", stroke: "#12805c" }], "%"),
  };
  window.opsRings = rings; // the samples behind the charts, for the console and the browser tests
  const draw = (name) => {
    charts[name].setData(rings[name].columns);
    charts[name].root.dataset.points = String(rings[name].length);
  };

  function showAlerts(firing) {
    const list = document.getElementById("alerts");
    list.replaceChildren(
      ...(firing.length
        ? firing.map((a) => el("li", { dataset: { rule: a.rule } },
            el("span", { className: "badge " + a.severity, textContent: a.severity }), " ",
            el("strong", { textContent: a.rule }), " ",
            el("span", { className: "muted", textContent: a.since ? "since " + new Date(a.since).toLocaleTimeString() : "" })))
        : [el("li", { className: "empty", textContent: "none firing" })]),
    );
  }

  function showHealth(report) {
    const rows = Object.entries(report.checks || {}).map(([name, verdict]) => {
      const took = report.details && report.details[name] && report.details[name].duration_ms;
      return el("tr", { dataset: { check: name } },
        el("td", { textContent: name }),
        el("td", {}, el("span", { className: "badge" + (verdict === "ok" ? "" : " bad"), textContent: verdict })),
        el("td", { className: "muted", textContent: took === undefined ? "" : fixed(took, 1) + " ms" }));
    });
    document.getElementById("health").replaceChildren(...rows);
  }

  Dash.poll(async () => {
    const [o, health] = await Promise.all([Dash.call("/admin/overview"), Dash.call("/health/deep", { accept: [503] })]);
    showHealth(health);
    showAlerts(o.firing);
    if (!o.evaluated_at) {
      text("window", o.enabled === false ? "(alert evaluation is off: the config's alerts.enabled is false)" : "(waiting for the first evaluation)");
      return;
    }
    const t = Date.parse(o.evaluated_at) / 1000;
    text("window", `(over the last ${o.window_seconds} s, evaluated ${new Date(t * 1000).toLocaleTimeString()})`);
    text("p50", o.injection_p50_ms === null ? "no injections" : fixed(o.injection_p50_ms) + " ms");
    text("p95", o.injection_p95_ms === null ? "no injections" : fixed(o.injection_p95_ms) + " ms");
    text("injections-rate", fixed(o.injections_per_min, 0));
    text("injections-total", fixed(o.injections_total, 0));
    text("errors", fixed(o.injection_errors_per_min));
    const used = o.memory_limit_bytes ? o.resident_bytes / o.memory_limit_bytes : null;
    text("memory", `${fixed(o.resident_bytes / MB, 0)} / ${fixed(o.memory_limit_bytes / MB, 0)} MB` + (used === null ? "" : ` (${fixed(100 * used, 0)}%)`));
    text("cache", o.cache_hit_rate === null ? "no lookups" : fixed(100 * o.cache_hit_rate) + "%");
    text("rag", fixed(o.rag_timeouts_per_min));
    text("backlog", String(o.embedding_backlog));
    // One sample per evaluation: a poll that sees the same evaluation again adds nothing.
    if (rings.latency.columns[0].at(-1) === t) return;
    rings.latency.push(t, o.injection_p50_ms, o.injection_p95_ms, 100, 500);
    rings.errors.push(t, o.injection_errors_per_min, o.rag_timeouts_per_min);
    rings.memory.push(t, o.resident_bytes / MB, o.memory_limit_bytes / MB);
    rings.cache.push(t, o.cache_hit_rate === null ? null : 100 * o.cache_hit_rate);
    Object.keys(rings).forEach(draw);
  });
})();
