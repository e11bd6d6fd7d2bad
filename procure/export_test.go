package procure

// For the external tests (decode_fast_test.go, which imports the simulator).
var (
	DecodeFast  = decodeFast
	ReadFixture = readFixture
)

// DecodeGeneral is Decode without its fast path.
func DecodeGeneral(b []byte) (*Event, error) { return decode(b, false, true) }
