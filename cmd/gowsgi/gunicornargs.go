package main

import (
	"errors"
	"fmt"
	"strings"
)

// gunicornArgsVar is the environment variable gunicorn reads more command
// line from (gunicorn 19.7 and later).
const gunicornArgsVar = "GUNICORN_CMD_ARGS"

// parseGunicornArgs reads GUNICORN_CMD_ARGS as gunicorn does: split as a
// POSIX shell would (Python's shlex.split), then parsed as gunicorn's
// command line (argparse): a long option by its name or an unambiguous
// prefix of it, as --name VALUE or --name=VALUE; a short one as -x VALUE
// or -xVALUE, switches grouped (-RD). A word that is no option (an app)
// is ignored, as gunicorn ignores it there. A repeated option keeps its
// last value, except those that add to a list (--bind, --env). It returns
// the settings by gunicorn's name.
func parseGunicornArgs(s string) (map[string]gunicornValue, error) {
	words, err := shellSplit(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gunicornArgsVar, err)
	}
	p := argParser{words: words, out: map[string]gunicornValue{}}
	if err := p.parse(); err != nil {
		return nil, fmt.Errorf("%s: %w", gunicornArgsVar, err)
	}
	return p.out, nil
}

type argParser struct {
	words []string
	out   map[string]gunicornValue
}

func (p *argParser) parse() error {
	for len(p.words) > 0 {
		w := p.words[0]
		p.words = p.words[1:]
		switch {
		case w == "--":
			return nil // the rest are arguments, not options
		case strings.HasPrefix(w, "--"):
			if err := p.long(w); err != nil {
				return err
			}
		case strings.HasPrefix(w, "-") && w != "-" && !isNumber(w):
			if err := p.short(w); err != nil {
				return err
			}
		}
	}
	return nil
}

// long handles --name, --name=VALUE and --name VALUE.
func (p *argParser) long(w string) error {
	name, value, hasValue := strings.Cut(w, "=")
	g, option, err := longOption(name)
	if err != nil {
		return err
	}
	if g.takes == argTrue || g.takes == argFalse {
		if hasValue {
			return fmt.Errorf("%s takes no value, got %q", option, w)
		}
		p.set(g, option, nil)
		return nil
	}
	if !hasValue {
		if value, err = p.next(option); err != nil {
			return err
		}
	}
	p.set(g, option, value)
	return nil
}

// short handles -x, -xVALUE, -x VALUE and grouped switches.
func (p *argParser) short(w string) error {
	for rest := w[1:]; rest != ""; {
		option := "-" + rest[:1]
		rest = rest[1:]
		g := settingWithOption(option)
		if g == nil {
			return unsupported(option)
		}
		if g.takes == argTrue || g.takes == argFalse {
			p.set(g, option, nil)
			continue
		}
		value := strings.TrimPrefix(rest, "=")
		if rest == "" {
			var err error
			if value, err = p.next(option); err != nil {
				return err
			}
		}
		p.set(g, option, value)
		return nil
	}
	return nil
}

// next takes the word after an option as its value.
func (p *argParser) next(option string) (string, error) {
	if len(p.words) == 0 || (strings.HasPrefix(p.words[0], "-") && p.words[0] != "-" && !isNumber(p.words[0])) {
		return "", fmt.Errorf("%s expects a value", option)
	}
	v := p.words[0]
	p.words = p.words[1:]
	return v, nil
}

// set records an option's value: value for an option that takes one, nil
// for a switch.
func (p *argParser) set(g *gunicornSetting, option string, value any) {
	switch g.takes {
	case argTrue:
		value = true
	case argFalse:
		value = false
	case argAppend:
		var list []any
		if prev, ok := p.out[g.name]; ok {
			list, _ = prev.value.([]any)
		}
		value = append(list, value)
	}
	p.out[g.name] = gunicornValue{value: value, layer: fromGunicornArgs, source: gunicornArgsVar, origin: option}
}

// longOption finds the setting of a long option, named in full or by a
// prefix of only one (argparse's abbreviations).
func longOption(name string) (*gunicornSetting, string, error) {
	if g := settingWithOption(name); g != nil {
		return g, name, nil
	}
	var found *gunicornSetting
	var matches []string
	for i := range gunicornSettings {
		for _, o := range gunicornSettings[i].options {
			if strings.HasPrefix(o, "--") && strings.HasPrefix(o, name) {
				found = &gunicornSettings[i]
				matches = append(matches, o)
			}
		}
	}
	switch len(matches) {
	case 0:
		return nil, "", unsupported(name)
	case 1:
		return found, matches[0], nil
	}
	return nil, "", fmt.Errorf("ambiguous option %s could match %s", name, strings.Join(matches, ", "))
}

// settingWithOption finds the setting an option sets exactly.
func settingWithOption(option string) *gunicornSetting {
	for i := range gunicornSettings {
		for _, o := range gunicornSettings[i].options {
			if o == option {
				return &gunicornSettings[i]
			}
		}
	}
	return nil
}

func unsupported(option string) error {
	switch option {
	case "-h", "--help", "-v", "--version":
		return fmt.Errorf("%s has no place here", option)
	}
	return fmt.Errorf("unrecognized option %s (not one of gunicorn's)", option)
}

// isNumber reports whether w is a negative number, which argparse takes
// as a value rather than an option.
func isNumber(w string) bool {
	digits := strings.TrimPrefix(w, "-")
	return digits != "" && strings.Trim(digits, "0123456789.") == ""
}

// shellSplit splits s into words as a POSIX shell does, as Python's
// shlex.split(s) does: whitespace separates words; single quotes keep
// everything literally; double quotes keep everything but a backslash
// before " or \; elsewhere a backslash keeps the next character.
func shellSplit(s string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("no closing quotation")
			}
			word.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				word.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, errors.New("no closing quotation")
			}
			inWord = true
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("no escaped character")
			}
			i++
			word.WriteByte(s[i])
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}
