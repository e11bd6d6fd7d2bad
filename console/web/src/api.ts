// The console API client: JSON in and out, the CSRF header on changes,
// errors as ApiError with the API's code, message and field. Callers name
// the answer's type (types.ts: Answer<"/api/…">, generated from the
// OpenAPI document); an unnamed answer is unknown, never any.

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public field?: string, public current?: unknown) {
    super(message);
  }
}

let csrf = "";
export function setCSRF(token: string) {
  csrf = token;
}

function cookie(name: string): string {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const h: Record<string, string> = { Accept: "application/json", ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (method !== "GET") h["X-CSRF-Token"] = csrf || cookie("sw_csrf");
  const res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = data?.error ?? {};
    throw new ApiError(res.status, e.code ?? "internal", e.message ?? res.statusText, e.field, data?.current);
  }
  return data as T;
}

export const get = <T = unknown>(path: string) => api<T>("GET", path);
export const post = <T = unknown>(path: string, body: unknown, headers?: Record<string, string>) => api<T>("POST", path, body, headers);
export const del = (path: string) => api("DELETE", path);
