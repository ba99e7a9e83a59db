package httpcore

import (
	"sync/atomic"
	"time"
)

// dateField is a formatted "Date: ...\r\n" line and the second it is for.
type dateField struct {
	unix int64
	line []byte
}

// currentDate caches the Date field; it is rebuilt at most once a second.
var currentDate atomic.Pointer[dateField]

// dateLine returns the "Date: <IMF-fixdate>\r\n" field for the current
// second. The result must not be modified.
func dateLine() []byte {
	now := time.Now()
	if d := currentDate.Load(); d != nil && d.unix == now.Unix() {
		return d.line
	}
	b := make([]byte, 0, 40)
	b = append(b, "Date: "...)
	b = now.UTC().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 GMT")
	b = append(b, "\r\n"...)
	currentDate.Store(&dateField{unix: now.Unix(), line: b})
	return b
}
