import { useState, type FormEvent } from 'react';
import { LIMITS } from '../../../shared/limits.js';
import { readableError } from '../../logic/errors.js';
import { useSession } from '../../RealtimeProvider.js';

export function SignIn() {
  const { signIn } = useSession();
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await signIn(mode, { username: String(form.get('username') ?? ''), password: String(form.get('password') ?? '') });
    } catch (caught) {
      setError(readableError(caught));
      setBusy(false);
    }
  }

  const title = mode === 'login' ? 'Sign in' : 'Create account';
  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title" className="card">
        <h1 id="signin-title">{title}</h1>
        <label>
          Username
          <input
            name="username"
            autoFocus
            aria-describedby={mode === 'register' ? 'username-rules' : undefined}
            autoComplete="username"
            required
            minLength={LIMITS.usernameMin}
            maxLength={LIMITS.usernameMax}
            pattern="[A-Za-z0-9_.\-]+"
          />
        </label>
        {mode === 'register' && (
          <p id="username-rules" className="muted hint">
            {LIMITS.usernameMin}–{LIMITS.usernameMax} characters: letters, digits, dots, dashes and underscores.
          </p>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={LIMITS.passwordMin}
            maxLength={LIMITS.passwordMax}
            aria-describedby={mode === 'register' ? 'password-rules' : undefined}
          />
        </label>
        {mode === 'register' && (
          <p id="password-rules" className="muted hint">
            At least {LIMITS.passwordMin} characters.
          </p>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {title}
        </button>
        <button type="button" className="link" onClick={() => setMode(mode === 'login' ? 'register' : 'login')}>
          {mode === 'login' ? 'New here? Create an account' : 'Have an account? Sign in'}
        </button>
      </form>
    </main>
  );
}
