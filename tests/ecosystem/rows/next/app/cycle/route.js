// A route handler that calls an API with the package, server side. The API's origin comes in the
// query (?api=http://127.0.0.1:PORT), which also keeps the route dynamic.
import { AuthFetch } from "seamless-fetch";

export async function GET(request) {
  const base = request.nextUrl.searchParams.get("api");
  const auth = new AuthFetch({ refreshUrl: base + "/auth/refresh", storage: "memory", loginUrl: null, allowedOrigins: [base] });
  auth.setTokens({ accessToken: "a0", refreshToken: "r0" });
  try {
    const res = await auth.fetch(base + "/api/me");
    return Response.json({ status: res.status, body: await res.json() });
  } catch (e) {
    return Response.json({ error: (e && e.code ? e.code + ": " : "") + (e && e.message ? e.message : String(e)) });
  }
}
