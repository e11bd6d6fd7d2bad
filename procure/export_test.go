package procure

// For the external tests (decode_fast_test.go, which imports the simulator).
var (
	DecodeGeneral = decodeGeneral
	DecodeFast    = decodeFast
)
