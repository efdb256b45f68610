// axios with axios-auth-refresh, set up as its README shows, on axios's fetch adapter so that the
// same transport serves every peer.
import axios from "axios";
import createAuthRefreshInterceptor from "axios-auth-refresh";

export async function create({ fetch }) {
  const instance = axios.create({ adapter: "fetch", env: { fetch } });
  instance.interceptors.request.use((config) => {
    config.headers.Authorization = "Bearer " + localStorage.getItem("token");
    return config;
  });
  const refresh = (failed) =>
    axios.post("/auth/refresh", { refreshToken: localStorage.getItem("refreshToken") }, { adapter: "fetch", env: { fetch }, skipAuthRefresh: true })
      .then(({ data }) => {
        localStorage.setItem("token", data.token);
        localStorage.setItem("refreshToken", data.refreshToken);
        failed.response.config.headers.Authorization = "Bearer " + data.token;
      });
  createAuthRefreshInterceptor(instance, refresh); // v5 defaults: deduplicateRefresh, 401
  return { name: "axios + axios-auth-refresh", get: async (url) => (await instance.get(url)).data };
}
