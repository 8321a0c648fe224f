package llm

import "bytes"

// sseParser splits a server-sent event stream into events as its bytes pass
// by, in chunks of any size. It keeps only the current partial line and
// event, each bounded by max bytes; an event that passes the bound is
// dropped and counted in dropped.
type sseParser struct {
	max     int
	line    []byte // the start of a line that continues in the next chunk
	event   []byte // the current event's name
	data    []byte // the current event's data, lines joined by "\n"
	hasData bool
	long    bool // the current line passed max: skip to its end
	drop    bool // the current event passed max: do not dispatch it
	dropped int

	// onEvent handles one event and reports whether it ends the stream.
	// data is valid only during the call.
	onEvent func(event string, data []byte) (last bool)
}

// feed parses p. If an event that ends the stream was dispatched, last is
// true and cut is the offset in p of the blank line that dispatched it, so
// that p[:cut] does not dispatch it. The bytes after that event are not
// parsed.
func (s *sseParser) feed(p []byte) (cut int, last bool) {
	start := 0 // offset in p of the current line
	for {
		i := bytes.IndexByte(p[start:], '\n')
		if i < 0 {
			rest := p[start:]
			switch {
			case s.long:
			case len(s.line)+len(rest) > s.max:
				s.long, s.line = true, s.line[:0]
			default:
				s.line = append(s.line, rest...)
			}
			return 0, false
		}
		ln, lineStart := p[start:start+i], start
		if len(s.line) > 0 || s.long {
			lineStart = 0
			if s.long || len(s.line)+len(ln) > s.max {
				s.long, s.drop, ln = false, true, []byte("x") // not blank: no dispatch
			} else {
				ln = append(s.line, ln...)
			}
			s.line = s.line[:0]
		} else if len(ln) > s.max {
			s.drop, ln = true, []byte("x")
		}
		start += i + 1
		if last = s.line1(bytes.TrimSuffix(ln, []byte{'\r'})); last {
			return lineStart, true
		}
	}
}

// line1 handles one complete line and reports whether it dispatched the
// event that ends the stream.
func (s *sseParser) line1(ln []byte) (last bool) {
	if len(ln) == 0 {
		if s.drop {
			s.dropped++
		} else if s.hasData {
			last = s.onEvent(string(s.event), bytes.TrimSuffix(s.data, []byte{'\n'}))
		}
		s.event, s.data, s.hasData, s.drop = s.event[:0], s.data[:0], false, false
		return last
	}
	if s.drop || ln[0] == ':' { // a dropped event, or a comment
		return false
	}
	name, value, _ := bytes.Cut(ln, []byte{':'})
	value = bytes.TrimPrefix(value, []byte{' '})
	switch string(name) {
	case "event":
		s.event = append(s.event[:0], value...)
	case "data":
		if len(s.data)+len(value) >= s.max {
			s.drop = true
			return false
		}
		s.data = append(s.data, value...)
		s.data = append(s.data, '\n')
		s.hasData = true
	}
	return false
}
