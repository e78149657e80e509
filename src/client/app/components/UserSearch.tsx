import { useId, useState } from 'react';
import { trpc, type User } from '../../trpc.js';

/** Type a name, pick a user. */
export function UserSearch({ label, action, onPick, exclude = [] }: { label: string; action: string; onPick: (user: User) => void; exclude?: number[] }) {
  const [query, setQuery] = useState('');
  const id = useId();
  const trimmed = query.trim();
  const results = trpc.user.search.useQuery({ query: trimmed }, { enabled: trimmed.length > 0, staleTime: 10_000 });
  const users = (results.data ?? []).filter((user) => !exclude.includes(user.id));
  return (
    <div className="user-search">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="search" value={query} onChange={(event) => setQuery(event.target.value)} placeholder="Username" autoComplete="off" />
      {trimmed && (
        <ul aria-label={`${label} results`}>
          {users.map((user) => (
            <li key={user.id}>
              <span>{user.username}</span>
              <button type="button" onClick={() => { onPick(user); setQuery(''); }} aria-label={`${action} ${user.username}`}>
                {action}
              </button>
            </li>
          ))}
          {results.isSuccess && users.length === 0 && <li className="muted">No one found</li>}
        </ul>
      )}
    </div>
  );
}
