import { Fragment, type ComponentChildren } from "preact";

/** A definition list of facts: label on the left, value on the right. */
export function KeyValue(props: { rows: Array<[string, ComponentChildren]>; testId?: string }) {
  return (
    <dl class="kv" data-testid={props.testId}>
      {props.rows.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </Fragment>
      ))}
    </dl>
  );
}
