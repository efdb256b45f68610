import { AuthFetch } from "seamless-fetch";

const auth = new AuthFetch({ refreshUrl: "https://api.example.com/auth/refresh", storage: "memory", loginUrl: null, allowedOrigins: ["https://api.example.com"] });
auth.setTokens({ accessToken: "a0", refreshToken: "r0" });

export async function me(): Promise<unknown> {
  const res: Response = await auth.fetch("https://api.example.com/api/me", { headers: { accept: "application/json" } });
  return res.json();
}

// The bound fetch stands where a fetch does.
export const transport: typeof fetch = auth.fetch;
