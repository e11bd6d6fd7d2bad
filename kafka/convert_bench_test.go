package kafka

import (
	"os"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/supplywatch/supplywatch/procure"
)

// BenchmarkFetchConversion is what Reader.Fetch adds per record over
// kafka-go's own message (the Message with its header map), beside
// decoding the same record's event (BenchmarkFetchDecodeBaseline), which
// every consumer does next: the ratio of the two is the cost of the
// adapter's own type.
func BenchmarkFetchConversion(b *testing.B) {
	m := benchRecord(b)
	b.ReportAllocs()
	for b.Loop() {
		sink = fromKafkaGo(&m) // kept, as a fetched record is
		if sink.Header(HeaderChannel) != "kafka" {
			b.Fatal("header lost")
		}
	}
}

var sink Message

func BenchmarkFetchDecodeBaseline(b *testing.B) {
	m := benchRecord(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := procure.Decode(m.Value); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRecord(b *testing.B) kafkago.Message {
	raw, err := os.ReadFile("../procure/testdata/po_released.json")
	if err != nil {
		b.Fatal(err)
	}
	return kafkago.Message{Topic: "supplywatch.events", Partition: 3, Offset: 12345, Key: []byte("acme/po/4500000001"), Value: raw, Time: time.Now(),
		Headers: []kafkago.Header{{Key: HeaderChannel, Value: []byte("kafka")}, {Key: HeaderReceivedAt, Value: []byte(strconv.FormatInt(time.Now().UnixMilli(), 10))}}}
}
