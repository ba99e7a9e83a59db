package accesslog

import (
	"strconv"
	"time"
)

// clfLayout is the t atom: gunicorn's strftime('[%d/%b/%Y:%H:%M:%S %z]').
const clfLayout = "[02/Jan/2006:15:04:05 -0700]"

const hexDigits = "0123456789abcdef"

// textRenderer renders records as lines of a compiled format. It belongs to
// the writer goroutine.
type textRenderer struct {
	ops []op

	// The t atom of the last second rendered: formatting a date costs more
	// than the rest of a line, and consecutive requests share the second.
	clfSec int64
	clfLoc *time.Location
	clf    []byte
}

// appendLine appends r's line, newline included, to dst.
func (t *textRenderer) appendLine(dst []byte, r *record) []byte {
	for i := range t.ops {
		o := &t.ops[i]
		switch o.kind {
		case opLiteral:
			dst = append(dst, o.lit...)
		case opField:
			b, ok := r.field(o.slot)
			if !ok || (o.dashEmpty && len(b) == 0) {
				dst = append(dst, '-')
				break
			}
			dst = appendEscaped(dst, b)
		case opRequestLine:
			m, _ := r.field(fieldMethod)
			u, _ := r.field(fieldURI)
			p, _ := r.field(fieldProto)
			dst = append(appendEscaped(dst, m), ' ')
			dst = append(appendEscaped(dst, u), ' ')
			dst = appendEscaped(dst, p)
		case opTime:
			dst = t.appendCLFTime(dst, r.start)
		case opStatus:
			dst = strconv.AppendInt(dst, int64(r.status), 10)
		case opBytes:
			dst = strconv.AppendInt(dst, r.bytes, 10)
		case opBytesCLF:
			if r.bytes == 0 {
				dst = append(dst, '-')
				break
			}
			dst = strconv.AppendInt(dst, r.bytes, 10)
		case opSeconds:
			dst = strconv.AppendInt(dst, int64(r.dur/time.Second), 10)
		case opMicros:
			dst = strconv.AppendInt(dst, int64(r.dur/time.Microsecond), 10)
		case opMillis:
			dst = strconv.AppendInt(dst, int64(r.dur/time.Millisecond), 10)
		case opDecimal:
			dst = appendFixed(dst, int64(r.dur/time.Microsecond), 6)
		}
	}
	return append(dst, '\n')
}

// appendCLFTime appends t in Apache's format, in t's Location.
func (t *textRenderer) appendCLFTime(dst []byte, at time.Time) []byte {
	if sec := at.Unix(); sec != t.clfSec || at.Location() != t.clfLoc || t.clf == nil {
		t.clf = at.AppendFormat(t.clf[:0], clfLayout)
		t.clfSec, t.clfLoc = sec, at.Location()
	}
	return append(dst, t.clf...)
}

// appendFixed appends v / 10^digits with exactly digits decimals: v=123,
// digits=6 gives 0.000123, gunicorn's "%d.%06d" for the L atom. A negative v
// is written as 0.
func appendFixed(dst []byte, v int64, digits int) []byte {
	v = max(v, 0)
	scale := int64(1)
	for range digits {
		scale *= 10
	}
	dst = strconv.AppendInt(dst, v/scale, 10)
	dst = append(dst, '.')
	frac := v % scale
	for scale /= 10; scale > 1 && frac < scale; scale /= 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, frac, 10)
}

// appendEscaped appends b as Apache's mod_log_config escapes request data:
// '"' and '\' get a backslash and any byte outside printable ASCII becomes
// \xHH, so no field can end the quoting or start a new line. gunicorn
// escapes only '"'.
func appendEscaped(dst, b []byte) []byte {
	start := 0
	for i, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, b[start:i]...)
		if c == '"' || c == '\\' {
			dst = append(dst, '\\', c)
		} else {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	return append(dst, b[start:]...)
}
