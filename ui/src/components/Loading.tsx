/** A quiet placeholder while the first answer from the daemon is on its way. */
export function Loading(props: { what: string }) {
  return (
    <div class="loading" data-testid="loading" aria-busy="true">
      <span class="spinner" aria-hidden="true" />
      Loading {props.what}…
    </div>
  );
}
