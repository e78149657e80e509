import { useSession } from '../RealtimeProvider.js';
import { ChatApp } from './components/ChatApp.js';
import { ErrorBoundary } from './components/ErrorBoundary.js';
import { SignIn } from './components/SignIn.js';

export function App() {
  const session = useSession();
  return (
    <ErrorBoundary>
      {session.status === 'loading' ? (
        <p className="centered" role="status">
          Loading…
        </p>
      ) : session.status === 'signedOut' ? (
        <SignIn />
      ) : (
        <ChatApp user={session.user} />
      )}
    </ErrorBoundary>
  );
}
