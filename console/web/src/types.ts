// The API's answers as the views use them.

export interface Me {
  user: { login: string; name: string; role: string };
  role: string;
  tenant: string;
  plants: string[] | null;
  all_plants: boolean;
  csrf_token: string;
  can: string[];
}

export interface Exc {
  id: number;
  rule: string;
  kind: string;
  subject: string;
  title: string;
  message: string;
  severity: string;
  team: string;
  supplier: string;
  plant: string;
  po: string;
  line: number;
  need_by: string | null;
  value_at_risk?: string | null; // a decimal string

  currency: string;
  priority: number;
  state: string;
  assignee: string;
  occurrences: number;
  first_seen: string;
  last_seen: string;
  resolution: string;
  version: number;
  snoozed_until: string | null;
  sla_due_at: string | null;
  group_key: string;
}

// Drill is the KPI figure a queue is filtered to (GET /api/exceptions?kpi=…).
export interface Drill {
  kpi: string;
  from: string;
  to: string;
  plant?: string;
  supplier?: string;
  docs: "missed" | "all";
  documents: number;
  entities: number;
}


export interface RetryPolicies {
  enabled: boolean;
  outcome_timeout: string;
  policies: { name: string; classes: string[]; targets?: string[]; max_attempts: number; backoff: { initial: string; multiplier: number; max: string; jitter: number } }[];
}

export interface User {
  id: number;
  login: string;
  name: string;
  email?: string;
  role: string;
  plants: string[] | null;
  disabled: boolean;
}

export interface VaR {
  currencies: { currency: string; amount: string; exceptions: number; group?: string }[];
  reporting: { currency: string; amount: string; rates_date: string; unconverted: string[] } | null;
}


// LiveEvent is a message of GET /api/live: an exception change (an outbox
// event) or a reload.
export type LiveEvent = any;
