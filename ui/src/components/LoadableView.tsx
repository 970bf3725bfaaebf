import type { ComponentChildren } from "preact";
import type { Loadable } from "../state/store.ts";
import { ErrorBox } from "./ErrorBox.tsx";
import { Loading } from "./Loading.tsx";

/**
 * Renders a resource in its three states. When a reload fails after an earlier success, the last
 * value stays visible under a warning instead of blanking the page.
 */
export function LoadableView<T>(props: { value: Loadable<T>; what: string; children: (value: T) => ComponentChildren }) {
  const v = props.value;
  if (v.state === "loading") return <Loading what={props.what} />;
  if (v.state === "error") {
    return (
      <>
        <ErrorBox title={`Could not load ${props.what}`} message={v.message} fix={v.fix} />
        {v.last !== undefined ? <div class="stale">{props.children(v.last)}</div> : null}
      </>
    );
  }
  return <>{props.children(v.value)}</>;
}
