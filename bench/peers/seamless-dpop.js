// This library with DPoP (RFC 9449): the "seamless-fetch/dpop" entry and `dpop: true`. Requests
// carry `Authorization: DPoP <token>` and a `DPoP` proof signed with a non-extractable P-256 key.
import init, { AuthFetch } from "seamless-fetch/dpop";

export async function create({ fetch }) {
  // The key is made (and stored in IndexedDB) before any token: a fresh browser context has no
  // key, and tokens stored without their key are a lost key (DPOP_KEY_LOST), as after a cleared
  // IndexedDB. So the tokens the bench's server put in storage are taken out, a proof for the
  // refresh URL is made with none stored (which makes the key), and they are set again, as an app
  // does after its login.
  const access = localStorage.getItem("token");
  const refresh = localStorage.getItem("refreshToken");
  localStorage.removeItem("token");
  localStorage.removeItem("refreshToken");
  const api = new AuthFetch({ refreshUrl: "/auth/refresh", loginUrl: null, fetch, dpop: true });
  const wasm = await init();
  await api.dpopProof({ method: "POST", url: "/auth/refresh" });
  if (access !== null) api.setTokens({ accessToken: access, refreshToken: refresh });
  return {
    name: "seamless-fetch, dpop: true",
    api,
    get: async (url) => {
      const res = await api.fetch(url);
      if (!res.ok) throw new Error("status " + res.status);
      return res.json();
    },
    wasmBytes: () => wasm.memory.buffer.byteLength,
  };
}
