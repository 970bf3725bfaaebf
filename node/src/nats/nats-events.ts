// One daemon event (what /v1/events sends) as a NATS message: its subject
// `ripple.<network>.<kind>.<event>` (api-types/src/nats.ts lists which events are published) and its
// payload, the event's JSON with the payload version and the publication time in front.
import { NATS_PAYLOAD_VERSION, natsEventSubject, type NatsEventPayload } from "@ripple-mesh/api-types";

export interface NatsEventMessage {
  subject: string;
  payload: NatsEventPayload;
}

/** A network name as one subject token: no dots, wildcards or spaces. */
export function subjectToken(name: string): string {
  const token = name.replace(/[^A-Za-z0-9_-]/g, "_");
  return token === "" ? "_" : token;
}

/** The message for `event`, or undefined for an event that is not published (or is not an event). */
export function natsEventMessage(event: unknown, network: string, now: Date = new Date()): NatsEventMessage | undefined {
  if (typeof event !== "object" || event === null) return undefined;
  const { type, ...fields } = event as { type?: unknown };
  if (typeof type !== "string") return undefined;
  const subject = natsEventSubject(subjectToken(network), type);
  if (!subject) return undefined;
  return { subject, payload: { v: NATS_PAYLOAD_VERSION, type, time: now.toISOString(), ...fields } as NatsEventPayload };
}
