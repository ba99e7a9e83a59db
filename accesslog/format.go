package accesslog

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// DefaultFormat is gunicorn's default access_log_format, Apache's combined
// log format:
//
//	192.0.2.7 - alice [10/Oct/2000:13:55:36 -0700] "GET /a?q=1 HTTP/1.1" 200 1234 "https://example.com/" "curl/8.0"
//
// A format is text with atoms written %(name)s (%(name)d is accepted too) and
// %% for a percent sign. The atoms are gunicorn's:
//
//	h      remote address, '-' if none (unix socket)
//	l      '-'
//	u      user name from Basic authorization, else '-'
//	t      date of the request, [10/Oct/2000:13:55:36 -0700]
//	r      request line, GET /a?q=1 HTTP/1.1 (the target as sent)
//	m      method
//	U      URL path without the query, still percent-encoded
//	q      query string
//	H      protocol
//	s      status
//	B      response length
//	b      response length, '-' if 0
//	f      referer, '-' if absent
//	a      user agent, '-' if absent
//	T      request time in whole seconds
//	D      request time in microseconds
//	M      request time in milliseconds
//	L      request time in decimal seconds, 0.000123
//	p      process id, <1234>
//	{x}i   request header x, '-' if absent
//	{x}o   response header x, '-' if absent
//	{x}e   environment variable x, '-' if unset
//
// Any other name prints '-', as in gunicorn. One difference: gunicorn's {x}e
// reads the WSGI environ, which gowsgi builds in C after the point where it
// logs; here it reads the process environment, once, when the format is
// compiled.
const DefaultFormat = `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`

// opKind is what one step of a compiled format appends.
type opKind uint8

const (
	opLiteral     opKind = iota // lit, as is
	opField                     // record slot, escaped; '-' if absent (or empty, with dashEmpty)
	opRequestLine               // method, target and protocol
	opTime                      // [10/Oct/2000:13:55:36 -0700]
	opStatus                    // status
	opBytes                     // response length
	opBytesCLF                  // response length, '-' if 0
	opSeconds                   // request time, whole seconds
	opMicros                    // request time, microseconds
	opMillis                    // request time, milliseconds
	opDecimal                   // request time, decimal seconds
	opReqHeader                 // request header slot index, made an opField by compile
	opRespHeader                // response header slot index, made an opField by compile
)

// op is one step of a compiled format.
type op struct {
	kind      opKind
	slot      int
	dashEmpty bool
	lit       string
}

// plan says which fields Log copies into a record.
type plan struct {
	fields    uint8    // bit i: copy fixed field i
	req, resp []string // lower-case names of the headers to copy, in slot order
}

// slots is the number of spans a record needs for p.
func (p *plan) slots() int { return numFields + len(p.req) + len(p.resp) }

// jsonPlan is what a JSON line needs.
func jsonPlan() plan {
	return plan{
		fields: 1<<fieldRemote | 1<<fieldMethod | 1<<fieldPath | 1<<fieldQuery | 1<<fieldProto,
		req:    []string{"referer", "user-agent"},
	}
}

// JSON field slots, following jsonPlan.
const (
	jsonReferer   = numFields
	jsonUserAgent = numFields + 1
)

// compile parses a gunicorn access log format once, into the steps that
// render a line and the plan of the fields they read.
func compile(format string) ([]op, plan, error) {
	var c compiler
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			c.literal(format[i:])
			break
		}
		c.literal(format[i : i+j])
		i += j
		rest := format[i:]
		if strings.HasPrefix(rest, "%%") {
			c.literal("%")
			i += 2
			continue
		}
		if !strings.HasPrefix(rest, "%(") {
			return nil, plan{}, fmt.Errorf("access log format %q: offset %d: want %%(name)s or %%%%", format, i)
		}
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, plan{}, fmt.Errorf("access log format %q: offset %d: unclosed %%(", format, i)
		}
		if end+1 >= len(rest) || (rest[end+1] != 's' && rest[end+1] != 'd') {
			return nil, plan{}, fmt.Errorf("access log format %q: offset %d: want s after %s", format, i, rest[:end+1])
		}
		c.atom(rest[2:end])
		i += end + 2
	}
	c.resolveHeaders()
	return c.ops, c.plan, nil
}

// compiler accumulates a compiled format.
type compiler struct {
	ops  []op
	plan plan
}

// literal appends text, merged with a literal just before it.
func (c *compiler) literal(s string) {
	if s == "" {
		return
	}
	if n := len(c.ops); n > 0 && c.ops[n-1].kind == opLiteral {
		c.ops[n-1].lit += s
		return
	}
	c.ops = append(c.ops, op{kind: opLiteral, lit: s})
}

// field appends a fixed field and asks the plan to copy it.
func (c *compiler) field(slot int, dashEmpty bool) {
	c.plan.fields |= 1 << slot
	c.ops = append(c.ops, op{kind: opField, slot: slot, dashEmpty: dashEmpty})
}

// header appends the header name (any case) of the request or response.
func (c *compiler) header(kind opKind, name string) {
	names := &c.plan.req
	if kind == opRespHeader {
		names = &c.plan.resp
	}
	name = strings.ToLower(name)
	i := slices.Index(*names, name)
	if i < 0 {
		i = len(*names)
		*names = append(*names, name)
	}
	c.ops = append(c.ops, op{kind: kind, slot: i})
}

// entryAtoms are the atoms printed from the entry's numbers alone.
var entryAtoms = map[string]opKind{
	"s": opStatus, "B": opBytes, "b": opBytesCLF,
	"T": opSeconds, "D": opMicros, "M": opMillis, "L": opDecimal,
}

// atom appends the atom named key.
func (c *compiler) atom(key string) {
	switch key {
	case "h":
		c.field(fieldRemote, true)
	case "l":
		c.literal("-")
	case "u":
		c.field(fieldUser, false)
	case "t":
		c.ops = append(c.ops, op{kind: opTime})
	case "r":
		c.plan.fields |= 1<<fieldMethod | 1<<fieldURI | 1<<fieldProto
		c.ops = append(c.ops, op{kind: opRequestLine})
	case "m":
		c.field(fieldMethod, false)
	case "U":
		c.field(fieldPath, false)
	case "q":
		c.field(fieldQuery, false)
	case "H":
		c.field(fieldProto, false)
	case "s", "B", "b", "T", "D", "M", "L":
		c.ops = append(c.ops, op{kind: entryAtoms[key]})
	case "f":
		c.header(opReqHeader, "referer")
	case "a":
		c.header(opReqHeader, "user-agent")
	case "p":
		c.literal("<" + strconv.Itoa(os.Getpid()) + ">")
	default:
		c.braced(key)
	}
}

// braced appends a {name}i, {name}o or {name}e atom; any other key, like
// any unknown atom in gunicorn, prints '-'. gunicorn lower-cases these keys,
// so the suffix letter is matched in any case too.
func (c *compiler) braced(key string) {
	n := len(key)
	if n < 4 || key[0] != '{' || key[n-2] != '}' {
		c.literal("-")
		return
	}
	name := key[1 : n-2]
	switch key[n-1] | 0x20 {
	case 'i':
		c.header(opReqHeader, name)
	case 'o':
		c.header(opRespHeader, name)
	case 'e':
		v, ok := os.LookupEnv(name)
		if !ok {
			c.literal("-")
			return
		}
		c.literal(string(appendEscaped(nil, []byte(v))))
	default:
		c.literal("-")
	}
}

// resolveHeaders turns header steps into field steps now that the number of
// request header slots, which precede the response ones, is known.
func (c *compiler) resolveHeaders() {
	for i := range c.ops {
		switch o := &c.ops[i]; o.kind {
		case opReqHeader:
			o.kind, o.slot = opField, numFields+o.slot
		case opRespHeader:
			o.kind, o.slot = opField, numFields+len(c.plan.req)+o.slot
		}
	}
}
