/**
 * The authorization decisions of src/auth as they happen, for policy_evaluations_total. The
 * decisions are pure functions, not objects an app owns, so the observers are the process's:
 * the composition root adds its app's counter and removes it on stop (with two apps in one
 * process, as in tests, each counts the decisions of both).
 */
type PolicyObserver = (allowed: boolean) => void;

const observers = new Set<PolicyObserver>();

/** Calls `observer` with every decision from now on; answers the function that stops it. */
export function observePolicyEvaluations(observer: PolicyObserver): () => void {
  observers.add(observer);
  return () => void observers.delete(observer);
}

/** Tells the observers of one decision; answers it (`if (!evaluated(allowed)) throw …`). */
export function evaluated(allowed: boolean): boolean {
  for (const observer of observers) observer(allowed);
  return allowed;
}
