package s3store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/complyhq/comply/store"
)

// A Report says what a retention cleanup did.
type Report struct {
	Deleted         int64     // entries removed
	DeletedObjects  int64     // objects removed whole
	Rewritten       int64     // segments rewritten without their expired entries
	Retained        int64     // expired entries kept because an object lock protects them
	RetainedObjects int64     // objects holding them
	RetainedUntil   time.Time // when the last of those locks runs out (zero if none, or legal holds only)
}

func (r *Report) retain(n int64, l *RetainedError) {
	r.Retained += n
	r.RetainedObjects++
	if l.Until.After(r.RetainedUntil) {
		r.RetainedUntil = l.Until
	}
}

// Delete implements store.Store. In the segments layout it rewrites the
// one segment that holds the entry without it (a new object, one
// generation up, then the old one deleted); in the seed layout it deletes
// the entry's object. An object under an Object Lock is not touched: the
// error wraps ErrRetained (a *RetainedError says until when).
func (s *Store) Delete(ctx context.Context, id string) error {
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return store.ErrClosed
	}
	if err := s.sync(ctx); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	rec, err := s.Get(ctx, id)
	if err != nil {
		var ce *store.CorruptionError
		if errors.As(err, &ce) {
			return fmt.Errorf("delete %s: %w", id, err)
		}
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete %s: %w", id, store.ErrNotFound)
		}
		return fmt.Errorf("delete %s: %w", id, err)
	}
	rel := strings.TrimPrefix(rec.Path, s.cfg.prefix)
	if s.cfg.layout == Seed {
		h, err := s.head(ctx, rel, "")
		if err != nil {
			return fmt.Errorf("delete %s: %w", id, err)
		}
		if l := lockOf(rec.Path, h, time.Now()); l != nil {
			return fmt.Errorf("delete %s: %w", id, l)
		}
		if err := s.deleteOne(ctx, rel, aws.ToString(h.VersionId)); err != nil {
			return fmt.Errorf("delete %s: %w", id, err)
		}
		return nil
	}
	n, ok := parseSegKey(rel)
	if !ok {
		return fmt.Errorf("delete %s: %s is not a segment", id, rec.Path)
	}
	removed, err := s.rewrite(ctx, n, func(off int64, _ int64) bool { return off != rec.Offset })
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if removed == 0 {
		return fmt.Errorf("delete %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// rewrite replaces segment n by one generation up holding only the lines
// keep accepts (given each line's offset and time), then deletes n, and
// returns how many lines it dropped. A segment under a lock is left alone
// (a *RetainedError); a damaged one too (a *store.CorruptionError): its
// lines' ages are unknown.
func (s *Store) rewrite(ctx context.Context, n segName, keep func(off, t int64) bool) (int64, error) {
	rel := n.key()
	h, err := s.head(ctx, rel, "")
	if err != nil {
		return 0, err
	}
	if l := lockOf(s.full(rel), h, time.Now()); l != nil {
		return 0, l
	}
	removed, err := s.replaceSegment(ctx, n, func(off int64, r segRec) ([]byte, bool, error) {
		return nil, !keep(off, r.t), nil
	})
	if err != nil || removed == 0 {
		return 0, err
	}
	if err := s.deleteOne(ctx, rel, aws.ToString(h.VersionId)); err != nil {
		// The new generation hides the old one from readers; a later
		// cleanup removes it.
		return removed, err
	}
	return removed, nil
}

// A segEdit decides what becomes of one line of a segment being
// rewritten, given its offset and record: keep it (nil, false), replace it
// (the new line, false) or drop it (nil, true).
type segEdit func(off int64, r segRec) (repl []byte, drop bool, err error)

// replaceSegment writes segment n's lines, edited by edit, as the next
// generation of n (none if every line is dropped), and returns how many
// lines were dropped or replaced; with none, it writes nothing. The old
// generation is the caller's to delete. A damaged segment is not
// rewritten (a *store.CorruptionError).
func (s *Store) replaceSegment(ctx context.Context, n segName, edit segEdit) (int64, error) {
	recs, edited, err := s.editedLines(ctx, n.key(), edit)
	if err != nil || edited == 0 {
		return 0, err
	}
	defer s.cache.dropDay(n.day)
	if len(recs) == 0 {
		return edited, nil
	}
	nn := n
	nn.gen++
	nn.count = int64(len(recs))
	nn.minT, nn.maxT = recs[0].t, recs[0].t
	for _, r := range recs {
		nn.minT = min(nn.minT, r.t)
		nn.maxT = max(nn.maxT, r.t)
	}
	nb, _ := encodeSegment(recs)
	err = s.put(ctx, nn.key(), nb, "application/gzip", map[string]string{metaSum: sum(nb)}, true)
	if errors.Is(err, errExists) {
		return 0, fmt.Errorf("rewrite %s: rewritten concurrently by another process; try again", s.full(n.key()))
	}
	if err != nil {
		return 0, err
	}
	return edited, nil
}

// editedLines reads the segment object rel and returns its records edited
// by edit, and how many lines were dropped or replaced.
func (s *Store) editedLines(ctx context.Context, rel string, edit segEdit) ([]segRec, int64, error) {
	path := s.full(rel)
	body, _, err := s.get(ctx, rel, "")
	if err != nil {
		return nil, 0, err
	}
	x, err := readIndex(body)
	if err != nil {
		return nil, 0, &store.CorruptionError{Path: path, Offset: int64(len(body)), Err: fmt.Errorf("cannot rewrite: %w", err)}
	}
	var recs []segRec
	var edited int64
	k := 0
	var bad error
	segmentLines(x, 0, len(x.blocks), body[:x.dataEnd], func(l rawLine) bool {
		if l.err == nil && k >= len(x.ids) {
			l.err = errors.New("more lines than the index lists")
		}
		if l.err != nil {
			bad = &store.CorruptionError{Path: path, Offset: l.off, Err: fmt.Errorf("cannot rewrite: %w", l.err)}
			return false
		}
		r := segRec{id: x.ids[k], t: x.times[k], line: l.line}
		k++
		repl, drop, err := edit(l.off, r)
		switch {
		case err != nil:
			bad = err
			return false
		case drop:
			edited++
			return true
		case repl != nil:
			r.line = repl
			edited++
		}
		recs = append(recs, r)
		return true
	})
	if bad == nil && k != len(x.ids) {
		bad = &store.CorruptionError{Path: path, Offset: 0, Err: errors.New("cannot rewrite: fewer lines than the index lists")}
	}
	if bad != nil {
		return nil, 0, bad
	}
	return recs, edited, nil
}

// Expire implements store.Store: it removes the entries stamped before the
// cutoff and returns how many. Entries an Object Lock still protects are
// kept, and not an error: ExpireReport says how many and until when.
func (s *Store) Expire(ctx context.Context, before time.Time) (int64, error) {
	r, err := s.ExpireReport(ctx, before)
	return r.Deleted, err
}

// ExpireReport removes the entries stamped before the cutoff and reports
// what it removed and what object locks kept. Only the days up to the
// cutoff's are listed. In the segments layout, a segment wholly before the
// cutoff is deleted (every version of it) without being read, and a
// segment that straddles it is rewritten; in the seed layout, the days
// wholly before the cutoff are deleted without being read and the objects
// of the cutoff's day are read for their time.
func (s *Store) ExpireReport(ctx context.Context, before time.Time) (Report, error) {
	var r Report
	if s.opts.ReadOnly {
		return r, store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if s.isClosed() {
		return r, store.ErrClosed
	}
	if err := s.sync(ctx); err != nil {
		return r, fmt.Errorf("expire: %w", err)
	}
	cut := before.UnixMicro()
	if before.Nanosecond()%1000 != 0 {
		cut++ // entries are stamped to the microsecond
	}
	var err error
	if s.cfg.layout == Seed {
		err = s.expireSeed(ctx, before, &r)
	} else {
		err = s.expireSeg(ctx, cut, &r)
	}
	if err != nil {
		return r, fmt.Errorf("expire: %w", err)
	}
	return r, nil
}

// byKey groups versions by key and picks each key's latest live version.
func byKey(vs []version) (keys []string, all map[string][]version, latest map[string]version) {
	all = map[string][]version{}
	latest = map[string]version{}
	for _, v := range vs {
		if _, ok := all[v.rel]; !ok {
			keys = append(keys, v.rel)
		}
		all[v.rel] = append(all[v.rel], v)
		if v.latest && !v.marker {
			latest[v.rel] = v
		}
	}
	return keys, all, latest
}

func (s *Store) expireSeg(ctx context.Context, cut int64, r *Report) error {
	days, err := s.segDays(ctx, minDay, dayOfMicro(cut-1))
	if err != nil {
		return err
	}
	for _, d := range days {
		if d.start().UnixMicro() >= cut {
			continue
		}
		vs, err := s.versions(ctx, d.segPrefix())
		if err != nil {
			return err
		}
		keys, all, latest := byKey(vs)
		var cur []segInfo
		for _, k := range keys {
			if v, ok := latest[k]; ok {
				if n, ok := parseSegKey(k); ok && n.day == d {
					cur = append(cur, newSegInfo(n, k, v.size))
				}
			}
		}
		l := newDayList(cur)
		var del []version
		whole := map[string]int64{} // key -> entries, for segments deleted whole
		for _, g := range l.stale {
			del = append(del, all[g.rel()]...)
		}
		var partial []segName
		for _, g := range l.segs {
			switch {
			case g.name.maxT < cut:
				del = append(del, all[g.rel()]...)
				whole[g.rel()] = g.name.count
			case g.name.minT < cut:
				partial = append(partial, g.name)
			}
		}
		// Keys whose latest version is a delete marker left by some other
		// tool: their hidden versions expire with the day too.
		for _, k := range keys {
			if _, ok := latest[k]; !ok {
				if n, ok := parseSegKey(k); ok && n.maxT < cut {
					del = append(del, all[k]...)
				}
			}
		}
		retained, err := s.deleteVersions(ctx, del)
		if err != nil {
			return err
		}
		locked := map[string]*RetainedError{}
		for v, l := range retained {
			if v.latest {
				locked[v.rel] = l
			}
		}
		for k, n := range whole {
			if l := locked[k]; l != nil {
				r.retain(n, l)
				continue
			}
			r.Deleted += n
			r.DeletedObjects++
		}
		for _, n := range partial {
			removed, err := s.rewrite(ctx, n, func(_, t int64) bool { return t >= cut })
			var l *RetainedError
			switch {
			case errors.As(err, &l):
				x, ierr := s.segIndex(ctx, newSegInfo(n, n.key(), latest[n.key()].size))
				if ierr != nil {
					return ierr
				}
				var expired int64
				for _, t := range x.times {
					if t < cut {
						expired++
					}
				}
				r.retain(expired, l)
			case err != nil:
				return err
			default:
				r.Deleted += removed
				r.Rewritten++
			}
		}
		s.cache.dropDay(d)
	}
	return nil
}

func (s *Store) expireSeed(ctx context.Context, before time.Time, r *Report) error {
	days, err := s.seedDays(ctx, minDay, dayOf(before))
	if err != nil {
		return err
	}
	for _, d := range days {
		if !d.start().Before(before) {
			continue
		}
		vs, err := s.versions(ctx, d.seedPrefix())
		if err != nil {
			return err
		}
		keys, all, latest := byKey(vs)
		entries := map[string]bool{} // current entry objects to delete
		var del []version
		if !d.next().start().After(before) {
			for _, k := range keys {
				if !strings.HasSuffix(k, seedExt) {
					continue
				}
				del = append(del, all[k]...)
				if _, ok := latest[k]; ok {
					entries[k] = true
				}
			}
		} else {
			var cur []string
			for _, k := range keys {
				if _, ok := latest[k]; ok && strings.HasSuffix(k, seedExt) {
					cur = append(cur, k)
				}
			}
			objs, err := s.fetchSeeds(ctx, cur)
			if err != nil {
				return err
			}
			for _, o := range objs {
				if o.it.err == nil && o.it.rec.Time.Before(before) {
					del = append(del, all[o.rel]...)
					entries[o.rel] = true
				}
			}
		}
		retained, err := s.deleteVersions(ctx, del)
		if err != nil {
			return err
		}
		locked := map[string]*RetainedError{}
		for v, l := range retained {
			if v.latest {
				locked[v.rel] = l
			}
		}
		for k := range entries {
			if l := locked[k]; l != nil {
				r.retain(1, l)
				continue
			}
			r.Deleted++
			r.DeletedObjects++
		}
	}
	return nil
}
