import type { AuthUserFragment } from "../generated/graphql";

/** What a signed-in browser keeps: the access token, when it expires, who it is. */
export interface Auth {
  accessToken: string;
  expiresAt: string;
  user: AuthUserFragment;
}

const STORAGE_KEY = "classroom.auth";
/**
 * Refresh this long before expiry (or a third of the remaining life, for short-lived tokens),
 * so a request in flight never carries an expired token and the socket is never closed 4401
 * for expiry in the normal course.
 */
const REFRESH_AHEAD_MS = 60_000;

type Refresher = (token: string) => Promise<Auth>;
type Listener = (auth: Auth | null) => void;

/**
 * The signed-in user's tokens: kept in localStorage (so a reload stays signed in), refreshed
 * with refreshAccessToken shortly before expiry and on demand (a 4401 close, an
 * UNAUTHENTICATED answer). One refresh at a time: concurrent callers share it.
 */
export class AuthStore {
  private current: Auth | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refreshing: Promise<Auth | null> | undefined;
  private readonly listeners = new Set<Listener>();
  private refresher: Refresher | undefined;
  /** Set when the server refused a refresh (the sign-in ended), so the sign-in form can say so. */
  expired = false;

  constructor() {
    try {
      const saved = localStorage.getItem(STORAGE_KEY);
      if (saved) this.current = JSON.parse(saved) as Auth;
    } catch {
      this.current = null;
    }
    if (this.current && Date.parse(this.current.expiresAt) <= Date.now()) this.current = null;
  }

  /** Sets how a token is refreshed (the client's RefreshAccessToken mutation), then schedules. */
  useRefresher(refresher: Refresher): void {
    this.refresher = refresher;
    this.schedule();
  }

  get auth(): Auth | null {
    return this.current;
  }

  get token(): string | undefined {
    return this.current?.accessToken;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(auth: Auth | null): void {
    if (auth) this.expired = false;
    this.current = auth;
    if (auth) localStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
    else localStorage.removeItem(STORAGE_KEY);
    this.schedule();
    for (const listener of this.listeners) listener(auth);
  }

  /** A new access token now; null (signed out) when the old one can no longer be refreshed. */
  refresh(): Promise<Auth | null> {
    const token = this.current?.accessToken;
    if (!token || !this.refresher) return Promise.resolve(null);
    this.refreshing ??= this.refresher(token)
      .then(
        (auth) => (this.set(auth), auth),
        (err: unknown) => {
          // A network failure keeps the token (it may still be valid); a refusal signs out.
          if (!(err instanceof TypeError) && !/network/i.test(String(err))) {
            this.expired = true;
            this.set(null);
          }
          return this.current;
        },
      )
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.current || !this.refresher) return;
    const remaining = Date.parse(this.current.expiresAt) - Date.now();
    const due = remaining - Math.min(REFRESH_AHEAD_MS, remaining / 3);
    this.timer = setTimeout(() => void this.refresh(), Math.max(due, 1_000));
  }
}
