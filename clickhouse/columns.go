package clickhouse

import (
	"encoding/binary"
	"math"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/supplywatch/supplywatch/procure"
)

// The span columns that take most of the rows (attribute keys and values)
// are written by the types below rather than ch-go's generic ones, which
// they encode byte for byte alike (TestColumnsEncodeAsChGo):
//
//   - strColumn keeps a String column in its wire format as it is
//     appended, so that sending it is one copy (or none, uncompressed)
//     instead of a second pass over every value;
//   - dictColumn, LowCardinality(String), finds a value's dictionary
//     entry by first comparing it with the entry the caller predicts (the
//     previous row's, or the same position in the previous map) before
//     hashing it: attribute keys come in the same order span after span,
//     so the comparison nearly always hits.

// strColumn is a String column in wire format: each value as its uvarint
// length and bytes.
type strColumn struct {
	buf  []byte
	rows int
}

var _ proto.ColInput = (*strColumn)(nil)

func (c *strColumn) Append(s string) {
	c.buf = binary.AppendUvarint(c.buf, uint64(len(s)))
	c.buf = append(c.buf, s...)
	c.rows++
}

func (c *strColumn) Type() proto.ColumnType       { return proto.ColumnTypeString }
func (c *strColumn) Rows() int                    { return c.rows }
func (c *strColumn) Reset()                       { c.buf, c.rows = c.buf[:0], 0 }
func (c *strColumn) EncodeColumn(b *proto.Buffer) { b.Buf = append(b.Buf, c.buf...) }

// WriteColumn hands the buffer to the writer as it is: it is not touched
// until the block is sent.
func (c *strColumn) WriteColumn(w *proto.Writer) {
	if len(c.buf) > 0 {
		w.ChainWrite(c.buf)
	}
}

// dictColumn is a LowCardinality(String) column.
type dictColumn struct {
	dict   strColumn         // the distinct values, in order of first sight
	values []string          // the same, to compare with
	index  map[string]uint32 // value -> position in dict
	keys   []uint32          // per row, the value's position in dict
}

var (
	_ proto.ColInput     = (*dictColumn)(nil)
	_ proto.StateEncoder = (*dictColumn)(nil)
)

// Append appends v; like is the row whose value v probably equals (-1:
// no guess).
func (c *dictColumn) Append(v string, like int) {
	if like >= 0 && like < len(c.keys) {
		if k := c.keys[like]; c.values[k] == v {
			c.keys = append(c.keys, k)
			return
		}
	}
	k, ok := c.index[v]
	if !ok {
		if c.index == nil {
			c.index = make(map[string]uint32)
		}
		k = uint32(len(c.values))
		c.index[v] = k
		c.values = append(c.values, v)
		c.dict.Append(v)
	}
	c.keys = append(c.keys, k)
}

// AppendLikePrevious appends v guessing it equals the previous row's value.
func (c *dictColumn) AppendLikePrevious(v string) { c.Append(v, len(c.keys)-1) }

func (c *dictColumn) Type() proto.ColumnType {
	return proto.ColumnTypeLowCardinality.Sub(proto.ColumnTypeString)
}

func (c *dictColumn) Rows() int { return len(c.keys) }

func (c *dictColumn) Reset() {
	c.dict.Reset()
	clear(c.values) // they point into request bodies
	c.values = c.values[:0]
	clear(c.index)
	c.keys = c.keys[:0]
}

// Low cardinality serialization (ch-go proto/col_low_cardinality.go,
// ClickHouse SerializationLowCardinality): key version 1 (shared
// dictionaries with additional keys) as state; per block, flags "has
// additional keys" and "update dictionary" with the key width, the
// dictionary, then the keys.
const (
	lowCardinalityKeyVersion = 1
	lowCardinalityUpdateAll  = 1<<9 | 1<<10
)

func (c *dictColumn) EncodeState(b *proto.Buffer) { b.PutInt64(lowCardinalityKeyVersion) }

func (c *dictColumn) EncodeColumn(b *proto.Buffer) {
	if len(c.keys) == 0 {
		return
	}
	var width int64 // 0: UInt8, 1: UInt16, 2: UInt32
	switch n := len(c.values); {
	case n > math.MaxUint16+1:
		width = 2
	case n > math.MaxUint8+1:
		width = 1
	}
	b.PutInt64(lowCardinalityUpdateAll | width)
	b.PutInt64(int64(len(c.values)))
	c.dict.EncodeColumn(b)
	b.PutInt64(int64(len(c.keys)))
	switch width {
	case 0:
		for _, k := range c.keys {
			b.Buf = append(b.Buf, byte(k))
		}
	case 1:
		for _, k := range c.keys {
			b.Buf = binary.LittleEndian.AppendUint16(b.Buf, uint16(k))
		}
	default:
		for _, k := range c.keys {
			b.Buf = binary.LittleEndian.AppendUint32(b.Buf, k)
		}
	}
}

func (c *dictColumn) WriteColumn(w *proto.Writer) { w.ChainBuffer(c.EncodeColumn) }

// attrsColumn is a Map(LowCardinality(String), String) of procure.Attributes.
type attrsColumn struct {
	offsets proto.ColUInt64
	keys    dictColumn
	values  strColumn
}

var (
	_ proto.ColInput     = (*attrsColumn)(nil)
	_ proto.StateEncoder = (*attrsColumn)(nil)
)

// Append appends one row, guessing that its keys come in the order of the
// previous row's.
func (c *attrsColumn) Append(as procure.Attributes) {
	prev, prevEnd := 0, 0
	if n := len(c.offsets); n > 0 {
		prevEnd = int(c.offsets[n-1])
		if n > 1 {
			prev = int(c.offsets[n-2])
		}
	}
	for i, a := range as {
		like := -1
		if prev+i < prevEnd {
			like = prev + i
		}
		c.keys.Append(a.Key, like)
		c.values.Append(a.Value)
	}
	c.offsets.Append(uint64(len(c.keys.keys)))
}

func (c *attrsColumn) Type() proto.ColumnType {
	return proto.ColumnTypeMap.Sub(c.keys.Type(), c.values.Type())
}

func (c *attrsColumn) Rows() int { return len(c.offsets) }

func (c *attrsColumn) Reset() {
	c.offsets.Reset()
	c.keys.Reset()
	c.values.Reset()
}

func (c *attrsColumn) EncodeState(b *proto.Buffer) { c.keys.EncodeState(b) }

func (c *attrsColumn) EncodeColumn(b *proto.Buffer) {
	if len(c.offsets) == 0 {
		return
	}
	c.offsets.EncodeColumn(b)
	c.keys.EncodeColumn(b)
	c.values.EncodeColumn(b)
}

func (c *attrsColumn) WriteColumn(w *proto.Writer) {
	if len(c.offsets) == 0 {
		return
	}
	c.offsets.WriteColumn(w)
	c.keys.WriteColumn(w)
	c.values.WriteColumn(w)
}

// eventAttrsColumn is an Array(Map(LowCardinality(String), String)) of the
// procure.Attributes of a span's events.
type eventAttrsColumn struct {
	offsets proto.ColUInt64
	maps    attrsColumn
}

var (
	_ proto.ColInput     = (*eventAttrsColumn)(nil)
	_ proto.StateEncoder = (*eventAttrsColumn)(nil)
)

// Append appends one row.
func (c *eventAttrsColumn) Append(evs []procure.Attributes) {
	for _, as := range evs {
		c.maps.Append(as)
	}
	c.offsets.Append(uint64(c.maps.Rows()))
}

func (c *eventAttrsColumn) Type() proto.ColumnType {
	return proto.ColumnTypeArray.Sub(c.maps.Type())
}

func (c *eventAttrsColumn) Rows() int { return len(c.offsets) }

func (c *eventAttrsColumn) Reset() {
	c.offsets.Reset()
	c.maps.Reset()
}

func (c *eventAttrsColumn) EncodeState(b *proto.Buffer) { c.maps.EncodeState(b) }

func (c *eventAttrsColumn) EncodeColumn(b *proto.Buffer) {
	c.offsets.EncodeColumn(b)
	c.maps.EncodeColumn(b)
}

func (c *eventAttrsColumn) WriteColumn(w *proto.Writer) {
	c.offsets.WriteColumn(w)
	c.maps.WriteColumn(w)
}
