// ky with the refresh hook people write by hand (afterResponse, one shared refresh promise).
import ky from "ky";

export async function create({ fetch }) {
  let refreshing = null;
  const refresh = async () => {
    const data = await ky.post("/auth/refresh", { fetch, retry: 0, json: { refreshToken: localStorage.getItem("refreshToken") } }).json();
    localStorage.setItem("token", data.token);
    localStorage.setItem("refreshToken", data.refreshToken);
  };
  const api = ky.create({
    fetch,
    retry: 0,
    hooks: {
      beforeRequest: [(request) => { request.headers.set("Authorization", "Bearer " + localStorage.getItem("token")); }],
      afterResponse: [async (request, options, response) => {
        if (response.status !== 401 || request.headers.has("x-retried")) return response;
        refreshing ??= refresh().finally(() => { refreshing = null; });
        await refreshing;
        request.headers.set("Authorization", "Bearer " + localStorage.getItem("token"));
        request.headers.set("x-retried", "1");
        return ky(request, { fetch, retry: 0 });
      }],
    },
  });
  return { name: "ky + refresh hook", get: (url) => api.get(url).json() };
}
