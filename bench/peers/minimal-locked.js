// Not a compared library: bench/storm.mjs's second yardstick. The minimal wrapper
// (peers/minimal.js) with the one thing tabs that share a rotating refresh token cannot do
// without: the refresh runs under a cross-tab Web Lock, and re-checks under it whether another
// tab refreshed meanwhile (auth0-spa-js's lock → re-check → refresh). No other check. What it
// takes is what any wrapper that takes the lock would take at the least.
export async function create({ fetch }) {
  let refreshing = null;
  const refresh = (sent) => navigator.locks.request("minimal-refresh", async () => {
    if (localStorage.getItem("token") !== sent) return; // another tab refreshed: nothing to spend
    const res = await fetch(location.origin + "/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken: localStorage.getItem("refreshToken") }) });
    const { token, refreshToken } = await res.json();
    localStorage.setItem("token", token);
    localStorage.setItem("refreshToken", refreshToken);
  });
  const send = (url, token) => fetch(url, { headers: { Authorization: "Bearer " + token } });
  return {
    name: "minimal wrapper with the cross-tab lock",
    get: async (url) => {
      const token = localStorage.getItem("token");
      let res = await send(url, token);
      if (res.status === 401) {
        refreshing ||= refresh(token).finally(() => { refreshing = null; });
        await refreshing;
        res = await send(url, localStorage.getItem("token"));
      }
      if (!res.ok) throw new Error("status " + res.status);
      return res.json();
    },
  };
}
