/** A failure with the daemon's message and its suggested fix. */
export function ErrorBox(props: { title?: string; message: string; fix?: string | undefined }) {
  return (
    <div class="error-box" role="alert" data-testid="error-box">
      <strong>{props.title ?? "Something went wrong"}</strong>
      <div>{props.message}</div>
      {props.fix ? <div class="fix">Fix: {props.fix}</div> : null}
    </div>
  );
}
