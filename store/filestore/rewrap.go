package filestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/complyhq/comply/store"
)

var _ store.Rewriter = (*Store)(nil)

// Rewrite implements store.Rewriter for one audit_*.jsonl file, named as
// Segments names it, by the same atomic rewrite as Expire: a temporary
// copy holding the new lines is fsynced and renamed over the file, the
// directory fsynced and the index rebuilt. A crash at any point leaves the
// old file or the new one. fn runs with the store's write lock held: it
// must not call the store.
func (s *Store) Rewrite(ctx context.Context, segment string, fn func(store.Record) ([]byte, bool, error)) (int64, error) {
	if s.opts.ReadOnly {
		return 0, store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	g := s.byName[segment]
	if g == nil {
		return 0, fmt.Errorf("rewrite %s: %w", segment, store.ErrNotFound)
	}
	tmp := filepath.Join(s.dir, sideDir, "tmp", g.name)
	os.Remove(tmp) // a fresh file, never one found there
	out, err := openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	defer os.Remove(tmp) // a no-op after the rename
	es, st, changed, size, err := s.copyChanged(ctx, g, out, fn)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	if changed == 0 {
		return 0, nil
	}
	return changed, s.install(g, tmp, es, st, size)
}

// copyChanged copies the lines of g to out, each replaced by what fn
// returns for it, and fsyncs out. Lines that cannot be read are copied
// byte for byte.
func (s *Store) copyChanged(ctx context.Context, g *segment, out *os.File, fn func(store.Record) ([]byte, bool, error)) (es []entry, st stats, changed, size int64, err error) {
	bw := bufio.NewWriterSize(out, 1<<20)
	lr := newLineReader(g.rf, 0, g.size, s.opts.MaxLineSize)
	for {
		off, b, err := lr.next()
		if err == io.EOF {
			break
		}
		tooLong := errors.Is(err, errLineTooLong)
		if err != nil && !tooLong {
			return nil, st, 0, 0, err
		}
		if err := ctx.Err(); err != nil {
			return nil, st, 0, 0, err
		}
		var id string
		var ts int64
		ok := false
		if !tooLong {
			id, ts, err = peek(b)
			ok = err == nil
		}
		n := lr.off - off
		switch {
		case tooLong:
			_, err = io.Copy(bw, io.NewSectionReader(g.rf, off, n))
		case ok:
			rec := store.Record{ID: id, Time: time.UnixMicro(ts).UTC(), Line: slices.Clone(b), Path: g.name, Offset: off}
			nl, ch, ferr := fn(rec)
			if ferr != nil {
				return nil, st, 0, 0, ferr
			}
			if ch {
				nr := store.Record{ID: id, Time: rec.Time, Line: nl}
				if err := nr.Check(s.opts.MaxLineSize); err != nil {
					return nil, st, 0, 0, err
				}
				if nid, nts, perr := peek(nl); perr != nil || nid != id || nts != ts {
					return nil, st, 0, 0, fmt.Errorf("rewrite %s: the new line changes the id or the time", id)
				}
				b = nl
				n = int64(len(nl)) + 1
				changed++
			}
			bw.Write(b)
			err = bw.WriteByte('\n')
		default:
			bw.Write(b)
			err = bw.WriteByte('\n')
		}
		if err != nil {
			return nil, st, 0, 0, err
		}
		if ok {
			es = append(es, entry{key: keyOf(id), off: size, time: ts})
			st.add(ts)
		} else {
			st.corrupt++
		}
		size += n
	}
	if err := bw.Flush(); err != nil {
		return nil, st, 0, 0, err
	}
	return es, st, changed, size, out.Sync()
}
