import { Component, type ErrorInfo, type ReactNode } from 'react';
import { readableError } from '../../logic/errors.js';

type State = { error: unknown };

/** A render error shows a readable message and a way out, never a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo) {
    console.error(error, info.componentStack);
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    return (
      <div className="centered" role="alert">
        <h1>Something went wrong</h1>
        <p>{readableError(this.state.error)}</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
