package procure

// B2BDocument is one raw B2B document (an X12 or EDIFACT interchange, a cXML
// request) handed in by a sender: the HTTP ingest endpoint gives it the
// tenant and sources of the ingest token it came with, so only that
// tenant's partners (and, with Sources, only partners of those sources) are
// resolved from its envelope.
type B2BDocument struct {
	Tenant  string
	Sources []string // empty: any source
	// Format names the syntax as the sender named it: "x12", "edifact",
	// "cxml"; "" or "auto" asks for it to be recognised from the bytes.
	Format string
	Body   []byte
	// ID names the document in the dead letter when it is refused whole
	// ("http/" and the SHA-256 of the body).
	ID string
}

// B2BStatusRejected is the B2BOutcome.Status of a document of which nothing
// was taken. The others are "accepted", "accepted_with_errors" and
// "partially_accepted".
const B2BStatusRejected = "rejected"

// B2BOutcome is what was made of a B2B document: the events published, the
// units rejected and why, what was accepted leniently, and the functional
// acknowledgements (997, 999, CONTRL or the cXML Response) to return to the
// partner. It is the answer of POST /v1/b2b.
type B2BOutcome struct {
	OriginID   string       `json:"origin_id"`
	Format     string       `json:"format"`
	Partners   []string     `json:"partners"`
	Status     string       `json:"status"`
	Events     []string     `json:"events"`
	Rejections []B2BProblem `json:"rejections,omitempty"`
	Warnings   []B2BProblem `json:"warnings,omitempty"`
	Acks       []B2BAck     `json:"acks,omitempty"`
}

// B2BProblem is a rejected unit or a warning: its message, and the field and
// value at fault where one is known. Unmapped says the unit was valid but
// of a kind supplywatch does not map.
type B2BProblem struct {
	Message  string `json:"message"`
	Field    string `json:"field,omitempty"`
	Value    string `json:"value,omitempty"`
	Unmapped bool   `json:"unmapped,omitempty"`
}

// B2BAck is a functional acknowledgement for the partner: its kind (997,
// 999, CONTRL, cXML), its verdict and the document itself.
type B2BAck struct {
	Kind    string `json:"kind"`
	Verdict string `json:"verdict"`
	Body    string `json:"body"`
}
