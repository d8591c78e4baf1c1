/**
 * Errors as TEI sends them: a JSON body `{ error, error_type }` with the status its error type implies. The message
 * is ours (never a stack); untrusted text inside it is quoted by the caller with printable()/quoted().
 */
export type ErrorType = "Validation" | "Tokenizer" | "Overloaded" | "Unhealthy" | "Backend" | "Timeout" | "NotFound";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: ErrorType,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Bad JSON or a field of the wrong type or value: 422, as the issue asks (TEI's axum answers such bodies with 422). */
export function validation(message: string): HttpError {
  return new HttpError(422, "Validation", message);
}

/** Too large: a body past --payload-limit, a batch past max_client_batch_size, an input past the model's length. */
export function tooLarge(message: string): HttpError {
  return new HttpError(413, "Validation", message);
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export function errorResponse(e: HttpError, headers: Record<string, string> = {}): Response {
  return jsonResponse({ error: e.message, error_type: e.errorType }, e.status, headers);
}
