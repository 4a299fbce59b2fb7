import { randomUUID } from "node:crypto";

export const REQUEST_ID_HEADER = "x-request-id";

/** A client-supplied request id is kept when it is a sane token; otherwise one is generated. */
export function correlationIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : randomUUID();
}
