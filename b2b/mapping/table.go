package mapping

import (
	"fmt"
	"strings"
)

// This file holds the shape every X12 and EDIFACT mapper has: a table of
// segment handlers per transaction set or message type (segment tag →
// func over the segment and the document being built), the loop structure
// as data (a header table, and the tags that open a line loop with its own
// table), and one driver that walks the segments and dispatches. What a
// mapper adds is the document's state, its handlers, and what it checks
// and builds once every segment is read.

// handler reads one segment into the document being built (D). An error
// rejects the unit.
type handler[S, D any] func(d *D, seg S) error

// table maps segment tags to handlers. Tags are packed into a number and
// looked up in a short slice: tables have a handful of entries, and a scan
// of numbers beats hashing a string per segment.
type table[S, D any] struct {
	keys []uint32
	fns  []handler[S, D]
}

// tags builds a table; entries may name several tags for one handler
// ("PO1 POC").
func tags[S, D any](entries map[string]handler[S, D]) *table[S, D] {
	t := &table[S, D]{}
	for names, fn := range entries {
		for _, tag := range strings.Fields(names) {
			if t.find(tagKey(tag)) != nil {
				panic(fmt.Sprintf("mapping: tag %s has two handlers", tag))
			}
			t.keys = append(t.keys, tagKey(tag))
			t.fns = append(t.fns, fn)
		}
	}
	return t
}

// find returns the handler of the tag packed as k, or nil.
func (t *table[S, D]) find(k uint32) handler[S, D] {
	for i, x := range t.keys {
		if x == k {
			return t.fns[i]
		}
	}
	return nil
}

// layout is the loop structure of a document type: segments go to the
// header table until a tag of opens starts the line loop; from then on
// they go to the line table (whose handler of an opening tag starts each
// new line). A document without lines has no opens.
type layout[S, D any] struct {
	header, line *table[S, D]
	opens        []uint32
}

// loops builds a layout: opens is a space-separated list of tags.
func loops[S, D any](header *table[S, D], opens string, line *table[S, D]) *layout[S, D] {
	l := &layout[S, D]{header: header, line: line}
	for _, tag := range strings.Fields(opens) {
		l.opens = append(l.opens, tagKey(tag))
	}
	return l
}

// walk dispatches every segment of segs to its handler in the table of the
// loop it is in. tag is the segment type's Tag method (a func value: a
// method call on a type parameter would box the segment).
func (l *layout[S, D]) walk(segs []S, tag func(S) string, d *D) error {
	t := l.header
	for _, seg := range segs {
		k := tagKey(tag(seg))
		if t == l.header {
			for _, o := range l.opens {
				if o == k {
					t = l.line
					break
				}
			}
		}
		if fn := t.find(k); fn != nil {
			if err := fn(d, seg); err != nil {
				return err
			}
		}
	}
	return nil
}

// tagKey packs a tag of up to three characters with its length; longer
// tags (never in a table) are 0.
func tagKey(tag string) uint32 {
	switch len(tag) {
	case 1:
		return 1<<24 | uint32(tag[0])
	case 2:
		return 2<<24 | uint32(tag[0])<<8 | uint32(tag[1])
	case 3:
		return 3<<24 | uint32(tag[0])<<16 | uint32(tag[1])<<8 | uint32(tag[2])
	}
	return 0
}
