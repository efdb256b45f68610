// This library.
import init, { AuthFetch } from "seamless-fetch";

export async function create({ fetch }) {
  const api = new AuthFetch({ refreshUrl: "/auth/refresh", loginUrl: null, fetch });
  const wasm = await init(); // made ready by the constructor; returns that instance
  return {
    name: "seamless-fetch",
    get: async (url) => {
      const res = await api.fetch(url);
      if (!res.ok) throw new Error("status " + res.status);
      return res.json();
    },
    wasmBytes: () => wasm.memory.buffer.byteLength,
  };
}
