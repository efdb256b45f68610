// Not a compared library: the yardstick of bench/storm.mjs. The least a refresh wrapper can do
// (one shared refresh promise, one replay, no lock, no checks), so that a storm's phases can be
// read against what a wrapper that costs nothing more would take.
export async function create({ fetch }) {
  let refreshing = null;
  const refresh = async () => {
    const res = await fetch(location.origin + "/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken: localStorage.getItem("refreshToken") }) });
    const { token, refreshToken } = await res.json();
    localStorage.setItem("token", token);
    localStorage.setItem("refreshToken", refreshToken);
  };
  const send = (url) => fetch(url, { headers: { Authorization: "Bearer " + localStorage.getItem("token") } });
  return {
    name: "minimal wrapper",
    get: async (url) => {
      let res = await send(url);
      if (res.status === 401) {
        refreshing ||= refresh().finally(() => { refreshing = null; });
        await refreshing;
        res = await send(url);
      }
      if (!res.ok) throw new Error("status " + res.status);
      return res.json();
    },
  };
}
