// The login form: the token is checked against an admin route before it is kept, so a wrong
// one is refused here, not on the first poll of a dashboard.
"use strict";

(() => {
  const KEY = "memory-system.admin-token";
  const params = new URLSearchParams(location.search);
  const next = params.get("next");
  const target = next && /^(ops|flags)\.html(\?[\w=&.%-]*)?$/.test(next) ? next : "ops.html";
  const error = document.getElementById("login-error");
  if (params.get("why")) error.textContent = params.get("why") + "; sign in again.";

  document.getElementById("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = document.getElementById("token").value.trim();
    error.textContent = "";
    try {
      const res = await fetch("/admin/overview", { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
      if (res.status === 401 || res.status === 403) {
        error.textContent = "That token was refused (" + res.status + "): use the service's admin token.";
        return;
      }
      if (!res.ok) {
        error.textContent = "The service answered " + res.status + "; try again.";
        return;
      }
      sessionStorage.setItem(KEY, token);
      location.replace(target);
    } catch (err) {
      error.textContent = "Cannot reach the service: " + err.message;
    }
  });
})();
