package intake

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// redacted replaces the content of a secret element.
const redacted = "[redacted]"

// secretElements are the cXML elements (by local name, any namespace
// prefix) whose content is a credential or a signature: the Sender's
// SharedSecret, a CredentialMac, a DigitalSignature (cXML 1.0-1.1) and the
// XML signature value and certificate chain of signed documents.
var secretElements = [][]byte{
	[]byte("SharedSecret"), []byte("CredentialMac"), []byte("DigitalSignature"), []byte("SignatureValue"),
}

// RedactCXML returns the cXML document with the content of every secret
// element replaced by "[redacted]" (the element and its attributes stay, so
// the document still reads and shows where a credential was). It returns
// data itself when there is nothing to redact. UTF-16 input is converted to
// UTF-8 first (the returned bytes are then UTF-8 under a declaration that
// still names UTF-16, which the cXML reader accepts).
func RedactCXML(data []byte) []byte {
	if len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF) {
		data = utf16To8(data)
	}
	var out []byte // allocated at the first secret
	last := 0      // data[:last] is in out (when out != nil)
	for i := 0; i < len(data); {
		lt := bytes.IndexByte(data[i:], '<')
		if lt < 0 {
			break
		}
		start := i + lt + 1
		name, end := xmlName(data, start)
		i = max(end, start)
		if len(name) == 0 || !isSecret(name) {
			continue
		}
		gt := bytes.IndexByte(data[end:], '>')
		if gt < 0 {
			// an unterminated start tag: withhold the rest
			out = append(append(out, data[last:end]...), redacted...)
			return out
		}
		body := end + gt + 1
		if data[body-2] == '/' { // <SharedSecret/>
			i = body
			continue
		}
		stop := closeTag(data, body, name)
		out = append(append(out, data[last:body]...), redacted...)
		last = stop
		i = stop
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// closeTag returns the offset of the closing tag "</name" of an element whose
// content starts at from (CDATA sections are skipped whole), or len(data)
// when there is none: an unclosed secret is withheld to the end.
func closeTag(data []byte, from int, name []byte) int {
	for i := from; i < len(data); {
		lt := bytes.IndexByte(data[i:], '<')
		if lt < 0 {
			return len(data)
		}
		i += lt
		if bytes.HasPrefix(data[i:], []byte("<![CDATA[")) {
			e := bytes.Index(data[i:], []byte("]]>"))
			if e < 0 {
				return len(data)
			}
			i += e + 3
			continue
		}
		if bytes.HasPrefix(data[i:], []byte("</")) {
			n, _ := xmlName(data, i+2)
			if bytes.Equal(n, name) {
				return i
			}
		}
		i++
	}
	return len(data)
}

// xmlName reads an element name (with its prefix) at data[i:]; it returns an
// empty name when data[i] does not start one (a closing tag, comment,
// declaration).
func xmlName(data []byte, i int) ([]byte, int) {
	j := i
	for j < len(data) {
		c := data[j]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/' || c == '<' {
			break
		}
		j++
	}
	if j == i || data[i] == '!' || data[i] == '?' {
		return nil, j
	}
	return data[i:j], j
}

func isSecret(name []byte) bool {
	if k := bytes.LastIndexByte(name, ':'); k >= 0 {
		name = name[k+1:]
	}
	for _, s := range secretElements {
		if bytes.Equal(name, s) {
			return true
		}
	}
	return false
}

// utf16To8 converts UTF-16 with a byte order mark to UTF-8 (without the
// mark); an odd trailing byte is dropped.
func utf16To8(data []byte) []byte {
	var order binary.ByteOrder = binary.LittleEndian
	if data[0] == 0xFE {
		order = binary.BigEndian
	}
	u := make([]uint16, 0, len(data)/2)
	for i := 2; i+1 < len(data); i += 2 {
		u = append(u, order.Uint16(data[i:]))
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out
}
