// Shared by the pages: the admin token (sessionStorage, this tab only), authenticated JSON
// calls that send a 401 back to the login form, the polling loop, a ring buffer of samples
// for the charts, and the confirmation dialog. Polling every 2 s by default; ?every=SECONDS
// on the page's address (or data-every on <body>) changes it.
"use strict";

const Dash = (() => {
  const KEY = "memory-system.admin-token";
  const params = new URLSearchParams(location.search);
  const everyMs = 1000 * Math.max(0.25, Number(params.get("every") || document.body.dataset.every || 2));
  const page = location.pathname.split("/").pop() || "ops.html";

  const token = () => sessionStorage.getItem(KEY);
  const toLogin = (why) => {
    const next = encodeURIComponent(page + location.search);
    location.replace("./?next=" + next + (why ? "&why=" + encodeURIComponent(why) : ""));
  };

  // fetch with the token; a 401 is a lost or wrong token (back to the form); `accept` lists
  // the other statuses whose JSON body the caller still wants (/health/deep's 503).
  async function call(path, { method = "GET", body, accept = [] } = {}) {
    const headers = { Authorization: "Bearer " + token(), "X-Actor": "dashboard" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, cache: "no-store", body: body && JSON.stringify(body) });
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      toLogin("the admin token was refused");
      throw new Error("the admin token was refused");
    }
    const data = await res.json().catch(() => null);
    if (!res.ok && !accept.includes(res.status)) {
      throw new Error(`${method} ${path}: ${res.status} ${(data && data.message) || ""}`.trim());
    }
    return data;
  }

  // A missing route (an older server) is null rather than an error.
  async function optional(path) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + token() }, cache: "no-store" });
    if (res.status === 404) return null;
    if (res.status === 401) return call(path);
    return res.ok ? res.json() : null;
  }

  function poll(tick) {
    const status = document.getElementById("status");
    let ticks = 0;
    const run = async () => {
      try {
        await tick();
        ticks += 1;
        status.textContent = `updated ${new Date().toLocaleTimeString()} (every ${everyMs / 1000} s)`;
        status.dataset.ticks = String(ticks);
        status.classList.remove("error");
      } catch (err) {
        status.textContent = "update failed: " + err.message;
        status.classList.add("error");
      }
      setTimeout(run, everyMs);
    };
    run();
  }

  // The last `size` samples of a few series, as uPlot's columns [times, s1, s2, ...].
  class Ring {
    constructor(series, size = Number(params.get("points")) || 300) {
      this.size = size;
      this.columns = Array.from({ length: series + 1 }, () => []);
    }
    push(time, ...values) {
      [time, ...values].forEach((v, i) => this.columns[i].push(v));
      if (this.columns[0].length > this.size) this.columns.forEach((c) => c.shift());
    }
    get length() { return this.columns[0].length; }
  }

  // A line chart that fills its container; `series` are {label, stroke, dash?}; `log`: a
  // log-10 y axis (latency: 2 ms and the 500 ms line on one chart).
  function chart(element, series, yLabel, { log = false } = {}) {
    const opts = {
      width: element.clientWidth || 480, height: 200,
      scales: { x: { time: true }, y: log ? { distr: 3 } : {} },
      axes: [{}, { label: yLabel, size: 60 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, dash: s.dash, width: 2, spanGaps: true }))],
    };
    const plot = new uPlot(opts, Array.from({ length: series.length + 1 }, () => []), element);
    new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: 200 })).observe(element);
    return plot;
  }

  // An in-page confirmation: resolves true only on the dialog's Confirm button.
  function confirmAction(message) {
    const dialog = document.getElementById("confirm");
    dialog.querySelector(".message").textContent = message;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    });
  }

  const text = (id, value) => { document.getElementById(id).textContent = value; };
  const fixed = (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
  const ago = (s) => (s === null || s === undefined ? "never" : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
  const el = (tag, { dataset = {}, ...props } = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    Object.assign(node.dataset, dataset);
    node.append(...children);
    return node;
  };

  function start() {
    if (!token()) { toLogin(); return false; }
    document.getElementById("logout").addEventListener("click", () => { sessionStorage.removeItem(KEY); toLogin(); });
    return true;
  }

  return { KEY, call, optional, poll, Ring, chart, confirmAction, text, fixed, ago, el, start };
})();
