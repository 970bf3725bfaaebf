// Reading an HTTP response body from something this node does not control (a cloud provider, kubo's
// API) with a limit that holds before the bytes are buffered: `await res.text()` reads whatever is
// sent until the time limit, however much that is.

export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
}

/** The body as UTF-8 text; a BodyTooLargeError (the rest of the body cancelled) once it passes `maxBytes`. */
export async function readBodyText(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(`the response is over ${maxBytes} bytes (its content-length says ${declared})`);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(`the response is over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
