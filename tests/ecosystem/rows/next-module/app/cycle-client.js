"use client";
import { useEffect, useState } from "react";
import { AuthFetch } from "seamless-fetch";

// One instance for the app, made where the module loads (in the browser and during prerendering).
const auth = new AuthFetch({ refreshUrl: "/auth/refresh", storage: "memory", loginUrl: null });
let started = false; // React runs effects twice in development (Strict Mode): one call only

export default function Cycle() {
  const [text, setText] = useState("…");
  useEffect(() => {
    if (started) return;
    started = true;
    auth.setTokens({ accessToken: "a0", refreshToken: "r0" });
    auth.fetch("/api/me").then(
      async (res) => { window.results = { status: res.status, body: await res.json() }; setText(String(res.status)); },
      (e) => { window.results = { error: (e && e.code ? e.code + ": " : "") + (e && e.message ? e.message : String(e)) }; setText("error"); },
    );
  }, []);
  return <p>{text}</p>;
}
