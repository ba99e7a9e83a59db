package accesslog

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonTimeLayout is RFC 3339 with milliseconds.
const jsonTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// appendJSONLine appends r as one JSON object, as the package
// documentation shows, and a newline.
func appendJSONLine(dst []byte, r *record, pid int) []byte {
	dst = append(dst, `{"time":"`...)
	dst = r.start.AppendFormat(dst, jsonTimeLayout)
	dst = append(dst, `","remote_addr":`...)
	dst = appendJSONField(dst, r, fieldRemote)
	dst = append(dst, `,"method":`...)
	dst = appendJSONField(dst, r, fieldMethod)
	dst = append(dst, `,"path":`...)
	dst = appendJSONField(dst, r, fieldPath)
	dst = append(dst, `,"query":`...)
	dst = appendJSONField(dst, r, fieldQuery)
	dst = append(dst, `,"protocol":`...)
	dst = appendJSONField(dst, r, fieldProto)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(r.status), 10)
	dst = append(dst, `,"bytes":`...)
	dst = strconv.AppendInt(dst, r.bytes, 10)
	dst = append(dst, `,"duration_ms":`...)
	dst = appendFixed(dst, int64(r.dur/time.Microsecond), 3)
	dst = append(dst, `,"referer":`...)
	dst = appendJSONField(dst, r, jsonReferer)
	dst = append(dst, `,"user_agent":`...)
	dst = appendJSONField(dst, r, jsonUserAgent)
	dst = append(dst, `,"pid":`...)
	dst = strconv.AppendInt(dst, int64(pid), 10)
	return append(dst, "}\n"...)
}

// appendJSONField appends slot of r as a JSON string, "" if absent.
func appendJSONField(dst []byte, r *record, slot int) []byte {
	b, _ := r.field(slot)
	return appendJSONString(dst, b)
}

// appendJSONString appends b as a quoted JSON string. Control characters,
// '"' and '\' are escaped; each byte that is not part of valid UTF-8 becomes
// \ufffd, as encoding/json does, so the line stays valid UTF-8 (the original
// byte is lost: the text format keeps it as \xHH).
func appendJSONString(dst, b []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(b[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		dst = append(dst, b[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				dst = append(dst, `\ufffd`...)
			}
		}
		i++
		start = i
	}
	dst = append(dst, b[start:]...)
	return append(dst, '"')
}
