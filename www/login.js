import { api, AuthFetch, cookieMode } from "/session.js";

const form = document.getElementById("login");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = document.getElementById("error");
  error.textContent = "";
  const body = { ...Object.fromEntries(new FormData(form)), ...(cookieMode ? { mode: "cookie" } : {}) };
  // Login itself is a plain fetch: there is no session to keep alive yet.
  const res = await fetch("/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    error.textContent = data.message || "Sign-in failed (" + res.status + ")";
    return;
  }
  // In cookie mode the answer holds no refresh token: the server set it as an HttpOnly cookie.
  api.setTokens(cookieMode ? { accessToken: data.token } : { accessToken: data.token, refreshToken: data.refreshToken });
  const next = new URLSearchParams(location.search).get("next");
  location.assign(AuthFetch.safeReturnPath(next, "/"));
});
form.querySelector("button[type=submit]").disabled = false;
document.body.dataset.ready = "true";
