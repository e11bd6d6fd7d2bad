// The API's answers, as generated from the OpenAPI document
// (console/openapi.yaml → src/gen/api.ts by `npm run gen`, which the build
// runs before the typecheck): a view that reads a field the document does
// not describe, or ignores that one may be null, fails the build, and the
// console's Go tests check that the answers match the document.
import type { components, paths } from "./gen/api";

export type Schemas = components["schemas"];

type JSONOf<R> = R extends { content: { "application/json": infer T } } ? T : never;

// Answer is the JSON answer of a route (its 200, else its 201) as the
// document describes it: Answer<"/api/exceptions/{id}">.
export type Answer<P extends keyof paths, M extends "get" | "post" | "patch" = "get"> = paths[P][M] extends { responses: infer R }
  ? R extends { 200: infer O }
    ? JSONOf<O>
    : R extends { 201: infer C }
      ? JSONOf<C>
      : never
  : never;

type BodyOf<O> = O extends { requestBody?: infer B } ? (NonNullable<B> extends { content: { "application/json": infer T } } ? T : never) : never;

// RequestOf is the JSON body a route takes as the document describes it;
// calls check theirs with satisfies RequestOf<"/api/views">.
export type RequestOf<P extends keyof paths, M extends "post" | "patch" = "post"> = BodyOf<paths[P][M]>;

export type Me = Schemas["Me"];
export type Action = Schemas["Action"];
export type Exc = Schemas["Exception"];
export type User = Schemas["User"];
export type RetryPolicies = Schemas["RetryPolicies"];
export type Retry = Schemas["Retry"];
export type TimelineEntry = Schemas["TimelineEntry"];
export type BoardLine = Schemas["BoardLine"];
export type Token = Schemas["Token"];
// Drill is the KPI figure a queue is filtered to (GET /api/exceptions?kpi=…).
export type Drill = NonNullable<Answer<"/api/exceptions">["drill"]>;
// VaR is value at risk per currency, and in the reporting currency.
export type VaR = Answer<"/api/value-at-risk">;

// LiveEvent is a message of GET /api/live (server-sent events, which the
// document names but cannot describe): an exception's outbox event, whose
// exception lacks the queue's snoozed_until and sla_due_at, or a reload.
export interface LiveEvent {
  kind: string;
  id?: number;
  exception_id?: number;
  at?: string;
  exception?: Omit<Exc, "snoozed_until" | "sla_due_at">;
}
