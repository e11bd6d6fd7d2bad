package clickhouse

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/supplywatch/supplywatch/procure"
)

// encode returns what a column puts on the wire, in both of ch-go's block
// encodings: EncodeState+EncodeColumn (compressed blocks) and
// EncodeState+WriteColumn (uncompressed).
func encode(t *testing.T, c proto.ColInput) (encoded, written []byte) {
	t.Helper()
	if p, ok := c.(proto.Preparable); ok {
		if err := p.Prepare(); err != nil {
			t.Fatal(err)
		}
	}
	var b proto.Buffer
	if s, ok := c.(proto.StateEncoder); ok {
		s.EncodeState(&b)
	}
	state := len(b.Buf)
	c.EncodeColumn(&b)
	var out bytes.Buffer
	w := proto.NewWriter(&out, new(proto.Buffer))
	w.ChainBuffer(func(wb *proto.Buffer) { wb.PutRaw(b.Buf[:state]) })
	c.WriteColumn(w)
	if _, err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Buf, out.Bytes()
}

func sameEncoding(t *testing.T, mine, theirs proto.ColInput) {
	t.Helper()
	if mine.Type() != theirs.Type() {
		t.Errorf("type %s, ch-go %s", mine.Type(), theirs.Type())
	}
	if mine.Rows() != theirs.Rows() {
		t.Errorf("%d rows, ch-go %d", mine.Rows(), theirs.Rows())
	}
	me, mw := encode(t, mine)
	te, tw := encode(t, theirs)
	if !bytes.Equal(me, te) {
		t.Errorf("EncodeColumn differs from ch-go's:\n%x\n%x", me, te)
	}
	if !bytes.Equal(mw, tw) {
		t.Errorf("WriteColumn differs from ch-go's:\n%x\n%x", mw, tw)
	}
}

// attrRows are attribute lists with repeated, reordered, new and missing
// keys, and n distinct keys in all.
func attrRows(n int) []procure.Attributes {
	rows := []procure.Attributes{
		{{Key: "po.number", Value: "4500000001"}, {Key: "plant", Value: "P01"}, {Key: "supplier", Value: "S1"}},
		{{Key: "po.number", Value: "4500000002"}, {Key: "plant", Value: "P02"}, {Key: "supplier", Value: "S2"}},
		{{Key: "plant", Value: "P01"}, {Key: "po.number", Value: ""}, {Key: "note", Value: "héllo"}},
		nil,
		{{Key: "supplier", Value: "S3"}},
		{},
	}
	var wide procure.Attributes
	for i := range n {
		wide = append(wide, procure.Attribute{Key: "k" + strconv.Itoa(i), Value: strconv.Itoa(i)})
	}
	return append(rows, wide, wide[:min(3, n)])
}

func TestColumnsEncodeAsChGo(t *testing.T) {
	for _, n := range []int{0, 300, 70000} {
		rows := attrRows(n)
		t.Run(fmt.Sprintf("map with %d more keys encodes as ch-go's", n), func(t *testing.T) {
			var mine attrsColumn
			theirs := proto.NewMap[string, string](proto.NewLowCardinality[string](new(proto.ColStr)), new(proto.ColStr))
			for _, as := range rows {
				mine.Append(as)
				kv := make([]proto.KV[string, string], len(as))
				for i, a := range as {
					kv[i] = proto.KV[string, string]{Key: a.Key, Value: a.Value}
				}
				theirs.AppendKV(kv)
			}
			sameEncoding(t, &mine, theirs)
		})
		t.Run(fmt.Sprintf("dictionary of %d more values encodes as ch-go's", n), func(t *testing.T) {
			var mine dictColumn
			var str strColumn
			theirs := proto.NewLowCardinality[string](new(proto.ColStr))
			var theirStr proto.ColStr
			for _, as := range rows {
				for _, a := range as {
					mine.AppendLikePrevious(a.Key)
					theirs.Append(a.Key)
					str.Append(a.Value)
					theirStr.Append(a.Value)
				}
			}
			sameEncoding(t, &mine, theirs)
			sameEncoding(t, &str, &theirStr)
		})
	}
	t.Run("event maps encode as ch-go's array of maps", func(t *testing.T) {
		var mine eventAttrsColumn
		theirs := proto.NewArray[map[string]string](proto.NewMap[string, string](proto.NewLowCardinality[string](new(proto.ColStr)), new(proto.ColStr)))
		for _, evs := range [][]procure.Attributes{nil, {{{Key: "error.class", Value: "timeout"}}, {}}, {{{Key: "target", Value: "erp"}}}} {
			mine.Append(evs)
			ms := make([]map[string]string, len(evs))
			for i, as := range evs {
				ms[i] = map[string]string{}
				for _, a := range as {
					ms[i][a.Key] = a.Value
				}
			}
			theirs.Append(ms)
		}
		sameEncoding(t, &mine, theirs)
	})
	t.Run("a reset column encodes as a new one", func(t *testing.T) {
		var used, fresh attrsColumn
		for _, as := range attrRows(300) {
			used.Append(as)
		}
		used.Reset()
		for _, as := range attrRows(3) {
			used.Append(as)
			fresh.Append(as)
		}
		sameEncoding(t, &used, &fresh)
	})
}
